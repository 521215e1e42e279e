/** Something a session owns and must release when it ends (a transport and its McpServer). */
export interface SessionResources {
  close(): Promise<void>;
}

interface Session<R> {
  subject: string;
  resources: R;
  lastSeen: number;
}

export interface SessionStoreOptions {
  /** A session without a request for this long is closed. */
  idleTtlMs: number;
  /** Cap on open sessions; `hasRoom()` turns false at the cap. */
  maxSessions: number;
  /** Cap on one subject's open sessions, so one user cannot take every slot. */
  maxSessionsPerSubject: number;
}

/**
 * Open MCP sessions (Streamable HTTP and legacy SSE), each bound to the subject of the token
 * that opened it. The ids come from the SDK (crypto.randomUUID: 122 random bits). A lookup with
 * another subject's token finds nothing, exactly like an unknown id (404), so session ids leak
 * nothing about other users.
 *
 * @example
 * const sessions = new SessionStore<Transport>({ idleTtlMs: 1_800_000, maxSessions: 1000, maxSessionsPerSubject: 50 });
 * sessions.add(id, 'alice', transport);
 * sessions.get(id, 'bob'); // undefined
 */
export class SessionStore<R extends SessionResources> {
  readonly #sessions = new Map<string, Session<R>>();
  readonly #perSubject = new Map<string, number>();
  readonly #options: SessionStoreOptions;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: SessionStoreOptions) {
    this.#options = options;
    this.#sweeper = setInterval(() => this.sweep(), Math.min(Math.max(options.idleTtlMs / 2, 10), 60_000));
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  hasRoom(): boolean {
    return this.#sessions.size < this.#options.maxSessions;
  }

  /** Whether `subject` may open one more session (its own cap; see hasRoom for the global one). */
  hasRoomFor(subject: string): boolean {
    return (this.#perSubject.get(subject) ?? 0) < this.#options.maxSessionsPerSubject;
  }

  add(id: string, subject: string, resources: R): void {
    this.#remove(id);
    this.#sessions.set(id, { subject, resources, lastSeen: Date.now() });
    this.#perSubject.set(subject, (this.#perSubject.get(subject) ?? 0) + 1);
  }

  /** The session's resources if it exists and belongs to `subject`; marks it as used. */
  get(id: string, subject: string): R | undefined {
    const session = this.#sessions.get(id);
    if (!session || session.subject !== subject) return undefined;
    session.lastSeen = Date.now();
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
    const left = (this.#perSubject.get(session.subject) ?? 1) - 1;
    if (left > 0) this.#perSubject.set(session.subject, left);
    else this.#perSubject.delete(session.subject);
    return session;
  }

  /** Closes sessions idle for longer than the TTL. */
  sweep(now = Date.now()): void {
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
    this.#perSubject.clear();
    await Promise.allSettled(all.map((session) => session.resources.close()));
  }
}
