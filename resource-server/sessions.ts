/** Something a session owns and must release when it ends (a transport and its McpServer). */
export interface SessionResources {
  close(): Promise<void>;
}

/** Who opened a session: what it is bound to (subject and client) and what the caps count. */
export interface SessionOwner {
  /** The token's `sub`: a user, or the client itself for a client_credentials token. */
  subject: string;
  /** The token's `client_id`. */
  clientId: string;
  /**
   * The caller's address as Koa sees it (the X-Forwarded-For entry the proxy added, with
   * RS_TRUST_PROXY). Counted for the per-address cap but not bound: a laptop that changes
   * networks keeps its session.
   */
  ip: string;
}

/** Which limit refused a new session. `server` is the only one that is not the caller's own. */
export type SessionCap = 'user' | 'client' | 'ip' | 'server';

export interface SessionRefusal {
  cap: SessionCap;
  /** The limit that was reached. */
  limit: number;
  /** Seconds until the earliest of the sessions counted against that limit expires if left idle. */
  retryAfterSec: number;
}

export interface SessionStoreOptions {
  /** A session without a request for this long is closed. */
  idleTtlMs: number;
  /** Cap on open sessions; past it, a caller with room of its own is refused with `server`. */
  maxSessions: number;
  /** Cap on one subject's open sessions, so one user cannot take every slot. */
  maxSessionsPerSubject: number;
  /** Cap on one client's open sessions (all its users together), so one app cannot take every slot. */
  maxSessionsPerClient: number;
  /**
   * Cap on one address's open sessions: each machine client is a subject and a client of its own,
   * so only the address bounds one party that holds many clients.
   */
  maxSessionsPerIp: number;
  /** The clock (ms); tests inject one. */
  now?: () => number;
}

interface Session<R> {
  owner: SessionOwner;
  resources: R;
  lastSeen: number;
}

/** The caller's own caps, in the order a refusal names them; each counts sessions by one key. */
const OWN_CAPS = [
  { cap: 'user', key: (owner: SessionOwner) => owner.subject, limit: (o: SessionStoreOptions) => o.maxSessionsPerSubject },
  { cap: 'client', key: (owner: SessionOwner) => owner.clientId, limit: (o: SessionStoreOptions) => o.maxSessionsPerClient },
  { cap: 'ip', key: (owner: SessionOwner) => owner.ip, limit: (o: SessionStoreOptions) => o.maxSessionsPerIp },
] as const;

/**
 * Open MCP sessions (Streamable HTTP and legacy SSE), each bound to the subject AND client of
 * the token that opened it. The ids are crypto.randomUUID (122 random bits). A
 * lookup with another subject's or another client's token finds nothing, exactly like an unknown
 * id (404), so session ids leak nothing and a session cannot be carried to another app.
 *
 * New sessions are admitted under four caps: the caller's own (per user, per client, per
 * address; 429) before the server's (503), so a caller at its own limit learns that freeing its
 * own sessions is what helps, and one caller can fill only its share, never the whole server.
 *
 * ```ts source="./sessions.examples.ts#SessionStore"
 * const sessions = new SessionStore<McpSession>({
 *   idleTtlMs: 1_800_000,
 *   maxSessions: 1000,
 *   maxSessionsPerSubject: 50,
 *   maxSessionsPerClient: 250,
 *   maxSessionsPerIp: 100,
 * });
 * const alice = { subject: 'alice', clientId: 'app', ip: '203.0.113.7' };
 * if (!sessions.refusal(alice)) sessions.add(id, alice, transport);
 * sessions.get(id, { ...alice, clientId: 'other-app' }); // undefined
 * ```
 */
export class SessionStore<R extends SessionResources> {
  readonly #sessions = new Map<string, Session<R>>();
  /** Open sessions per cap and key (subject, client id, address). */
  readonly #counts = { user: new Map<string, number>(), client: new Map<string, number>(), ip: new Map<string, number>() };
  readonly #options: SessionStoreOptions;
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: SessionStoreOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#sweeper = setInterval(() => this.sweep(), Math.min(Math.max(options.idleTtlMs / 2, 10), 60_000));
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Why `owner` may not open one more session, or undefined when it may. Sessions idle past the
   * TTL are swept first, so an expired session never holds a slot until the next sweep.
   */
  refusal(owner: SessionOwner): SessionRefusal | undefined {
    if (!this.#capReached(owner)) return undefined;
    this.sweep();
    const reached = this.#capReached(owner);
    if (!reached) return undefined;
    let oldest = Infinity;
    for (const session of this.#sessions.values()) if (reached.counts(session)) oldest = Math.min(oldest, session.lastSeen);
    const expiresInMs = oldest + this.#options.idleTtlMs - this.#now();
    return { cap: reached.cap, limit: reached.limit, retryAfterSec: Math.max(1, Math.ceil(expiresInMs / 1000)) };
  }

  /** The first cap `owner` has reached, and which sessions count against it. */
  #capReached(owner: SessionOwner): { cap: SessionCap; limit: number; counts: (session: Session<R>) => boolean } | undefined {
    for (const own of OWN_CAPS) {
      const key = own.key(owner);
      const limit = own.limit(this.#options);
      if ((this.#counts[own.cap].get(key) ?? 0) >= limit)
        return { cap: own.cap, limit, counts: (session) => own.key(session.owner) === key };
    }
    if (this.#sessions.size >= this.#options.maxSessions) return { cap: 'server', limit: this.#options.maxSessions, counts: () => true };
    return undefined;
  }

  add(id: string, owner: SessionOwner, resources: R): void {
    this.#remove(id);
    this.#sessions.set(id, { owner, resources, lastSeen: this.#now() });
    for (const { cap, key } of OWN_CAPS) this.#counts[cap].set(key(owner), (this.#counts[cap].get(key(owner)) ?? 0) + 1);
  }

  /** The session's resources if it exists and belongs to this subject and client; marks it as used. */
  get(id: string, caller: Pick<SessionOwner, 'subject' | 'clientId'>): R | undefined {
    const session = this.#sessions.get(id);
    if (!session || session.owner.subject !== caller.subject || session.owner.clientId !== caller.clientId) return undefined;
    session.lastSeen = this.#now();
    return session.resources;
  }

  /** Forgets a session (its transport closed); does not close it again. */
  delete(id: string): void {
    this.#remove(id);
  }

  #remove(id: string): Session<R> | undefined {
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    this.#sessions.delete(id);
    for (const { cap, key } of OWN_CAPS) {
      const counts = this.#counts[cap];
      const left = (counts.get(key(session.owner)) ?? 1) - 1;
      if (left > 0) counts.set(key(session.owner), left);
      else counts.delete(key(session.owner));
    }
    return session;
  }

  /** Closes sessions idle for longer than the TTL. */
  sweep(now = this.#now()): void {
    for (const [id, session] of this.#sessions) {
      if (now - session.lastSeen > this.#options.idleTtlMs) {
        this.#remove(id);
        void session.resources.close().catch(() => undefined);
      }
    }
  }

  async closeAll(): Promise<void> {
    clearInterval(this.#sweeper);
    const all = [...this.#sessions.values()];
    this.#sessions.clear();
    for (const counts of Object.values(this.#counts)) counts.clear();
    await Promise.allSettled(all.map((session) => session.resources.close()));
  }
}
