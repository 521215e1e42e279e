import type { AuthInfo } from '@modelcontextprotocol/server';
import { callerOf } from '../tools/caller.ts';
import type { UpstreamJwt } from './upstream-jwt.ts';
import type { Downstream, IdentitySource, Upstream, UpstreamConfig, UpstreamIdentity } from './upstream.ts';

export type IdentityMode = 'none' | 'headers' | 'env' | 'jwt';

interface Slot {
  instance: string;
  upstream: Promise<Upstream>;
  /** What this upstream is told about the caller (undefined with MCP_UPSTREAM_IDENTITY=none). */
  identity: IdentitySource | undefined;
  lastUsed: number;
  busy: number;
}

export interface UpstreamPoolOptions {
  upstream: UpstreamConfig;
  identity: IdentityMode;
  /** An upstream without a request for this long is ended (MCP_SESSION_IDLE_TTL_MS). */
  idleTtlMs: number;
  /** The signer for MCP_UPSTREAM_IDENTITY=jwt. */
  jwt?: UpstreamJwt | undefined;
  connect: (config: UpstreamConfig, identity: IdentitySource | undefined, downstream?: Downstream) => Promise<Upstream>;
  now?: () => number;
}

/**
 * The gateway's upstream connections, one per downstream MCP session AND caller (subject +
 * client): one upstream (one stdio process, one HTTP session) per session; without sessions
 * (MCP_STATELESS, 2026-07-28 requests) one per subject + client. Nothing is shared between callers: one user's upstream
 * state (and, with MCP_UPSTREAM_IDENTITY=env, its environment) never serves another.
 *
 * Idle upstreams are ended by a sweep; a crashed one is dropped, so the next request starts a
 * fresh one.
 */
export class UpstreamPool {
  readonly #slots = new Map<string, Slot>();
  readonly #options: UpstreamPoolOptions;
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: UpstreamPoolOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#sweeper = setInterval(() => this.sweep(), Math.min(Math.max(options.idleTtlMs / 2, 10), 60_000));
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#slots.size;
  }

  /**
   * Runs `use` with the caller's upstream for `instance` (the MCP session id; '' without a
   * session), starting one when there is none (or it ended). `downstream` is the session a new
   * upstream talks back to (server-to-client requests, notifications); none without a session.
   */
  async with<T>(
    instance: string,
    auth: AuthInfo | undefined,
    use: (upstream: Upstream) => Promise<T>,
    downstream?: () => Downstream,
  ): Promise<T> {
    const caller = callerOf({ http: { authInfo: auth } });
    const key = `${instance}\n${caller.subject}\n${caller.clientId}`;
    let slot = this.#slots.get(key);
    if (
      slot &&
      (await slot.upstream.then(
        (u) => u.ended,
        () => true,
      ))
    ) {
      this.#slots.delete(key);
      slot = undefined;
    }
    const current = { subject: caller.subject, clientId: caller.clientId, scopes: caller.scopes, roles: caller.roles };
    if (!slot) {
      const jwt = this.#options.identity === 'jwt' ? this.#options.jwt : undefined;
      if (this.#options.identity === 'jwt' && !jwt) throw new Error('MCP_UPSTREAM_IDENTITY=jwt without a signer');
      const identity: IdentitySource | undefined =
        this.#options.identity === 'none' ? undefined : { current, ...(jwt ? { jwt: (who: UpstreamIdentity) => jwt.sign(who) } : {}) };
      const created: Slot = {
        instance,
        upstream: this.#options.connect(this.#options.upstream, identity, downstream?.()),
        identity,
        lastUsed: this.#now(),
        busy: 0,
      };
      slot = created;
      this.#slots.set(key, slot);
      // A failed start is not kept: the next request tries again.
      created.upstream.catch(() => this.#slots.get(key) === created && this.#slots.delete(key));
    }
    if (slot.identity) slot.identity.current = current;
    slot.busy++;
    slot.lastUsed = this.#now();
    try {
      const upstream = await slot.upstream;
      try {
        return await use(upstream);
      } finally {
        if (upstream.ended && this.#slots.get(key) === slot) this.#slots.delete(key);
      }
    } finally {
      slot.busy--;
      slot.lastUsed = this.#now();
    }
  }

  /** Ends the upstreams of one downstream session (it closed). */
  async closeInstance(instance: string): Promise<void> {
    const ending: Promise<void>[] = [];
    for (const [key, slot] of this.#slots) {
      if (slot.instance !== instance) continue;
      this.#slots.delete(key);
      ending.push(endSlot(slot));
    }
    await Promise.allSettled(ending);
  }

  /** Ends upstreams idle for longer than the TTL (never one with a request in flight). */
  sweep(now = this.#now()): void {
    for (const [key, slot] of this.#slots) {
      if (slot.busy === 0 && now - slot.lastUsed > this.#options.idleTtlMs) {
        this.#slots.delete(key);
        void endSlot(slot);
      }
    }
  }

  async closeAll(): Promise<void> {
    clearInterval(this.#sweeper);
    const all = [...this.#slots.values()];
    this.#slots.clear();
    await Promise.allSettled(all.map(endSlot));
  }
}

async function endSlot(slot: Slot): Promise<void> {
  const upstream = await slot.upstream.catch(() => undefined);
  await upstream?.close().catch(() => undefined);
}
