import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from 'jose';
import type { LockStore, ReplayEntry, ReplayStore } from '../storage/store.ts';
import { oauthError } from './request-body.ts';

export interface TokenRequestLockOptions {
  /** The token endpoint's path (with the issuer's prefix). */
  tokenPath: string;
  locks: LockStore;
  replays: ReplayStore;
  /** How long a successful refresh response is replayed to a duplicate request; 0 turns it off. */
  graceSeconds: number;
  /** How long a lease lasts if its holder dies without releasing it (ms). */
  leaseMs?: number;
  /**
   * Runs the rest of a refresh_token request once it holds the lease, with the rows it will read
   * fetched ahead in one round trip (storage/adapter.ts withRefreshContext). Optional.
   */
  prefetchRefresh?: (refreshToken: string, clientId: string | undefined, next: () => Promise<void>) => Promise<void>;
}

/** Between polls of a lease another instance holds (ms); grows up to the second value. */
const POLL_MIN_MS = 2;
const POLL_MAX_MS = 50;

/**
 * Serializes token requests per refresh token / authorization code, across instances, and
 * replays a refresh's response to a duplicate that arrives within the grace window.
 *
 * Why: oidc-provider consumes a token as find → check → consume, not atomically. Two parallel
 * refreshes with one token (MCP clients do this) both pass the check, or the second sees the
 * first's consumption and revokes the whole grant as reuse; two parallel code redemptions can
 * both succeed. Under the lease the provider sees the requests one after the other: the second
 * refresh gets the first's response (same client, same parameters, same DPoP key), a second
 * code redemption is a replay (invalid_grant, and oidc-provider revokes the grant as RFC 6749
 * §4.1.2 asks). After the window, reuse is reuse again: the replay is gone and the provider
 * revokes the grant.
 *
 * The lease is a row in shared storage keyed by a hash of the token (never the token); within
 * one process, requests for one key queue in memory first, so only one of them polls storage.
 * Must run after resourceParameter (which parses the form onto ctx.request.body).
 *
 * ```ts source="./token-request-lock.examples.ts#tokenRequestLock"
 * // after app.use(resourceParameter(…)), which parses the form
 * app.use(tokenRequestLock({ tokenPath: '/token', locks: storage.locks, replays: storage.replays, graceSeconds: 5 }));
 * ```
 */
export function tokenRequestLock(options: TokenRequestLockOptions): Middleware {
  // Far above a token request's normal duration (ms), and short because a retry after a crash waits this long.
  const leaseMs = options.leaseMs ?? 5_000;
  const graceMs = options.graceSeconds * 1000;
  const instance = randomBytes(8).toString('hex');
  let sequence = 0;
  const queues = new Map<string, Promise<void>>();

  return async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== options.tokenPath) return next();
    const form = ctx.request.body as Record<string, unknown> | undefined;
    const grantType = form?.grant_type;
    const value = grantType === 'refresh_token' ? form?.refresh_token : grantType === 'authorization_code' ? form?.code : undefined;
    if (typeof value !== 'string' || value === '') return next();

    const key = `${grantType}:${sha256(value)}`;
    const replayable = grantType === 'refresh_token' && graceMs > 0;
    const owner = `${instance}:${++sequence}`;

    const fingerprint = replayable ? await requestFingerprint(ctx, form!) : undefined;
    const replayed = async () => {
      const replay = fingerprint ? await options.replays.get(key) : undefined;
      if (!replay || !sameText(replay.fingerprint, fingerprint!)) return false;
      ctx.status = 200;
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'application/json; charset=utf-8';
      ctx.body = replay.body;
      return true;
    };
    await inQueue(queues, key, async () => {
      // The lease first: a request without a duplicate (nearly all) then costs this one statement
      // and the replay check below, not a replay read before it as well. A replay is written by
      // the lease holder in the statement that releases the lease, so once we hold it, a replay
      // that exists is visible to the next statement.
      let leased = await options.locks.acquire(key, owner, leaseMs);
      if (!leased) {
        // Held elsewhere: a replay answers now (also a retry whose first attempt's instance died
        // holding the lease); else wait for the lease.
        if (await replayed()) return;
        leased = await takeLease(options.locks, key, owner, leaseMs);
      }
      if (!leased) {
        ctx.set('Retry-After', '1');
        return oauthError(ctx, 503, 'temporarily_unavailable', 'another request for this token is still running; retry');
      }
      let replay: { entry: ReplayEntry; ttlMs: number } | undefined;
      try {
        if (await replayed()) return;
        if (options.prefetchRefresh && grantType === 'refresh_token') {
          await options.prefetchRefresh(value, typeof form!.client_id === 'string' ? form!.client_id : undefined, next);
        } else {
          await next();
        }
        if (fingerprint && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
          const body = JSON.stringify(ctx.body);
          replay = { entry: { fingerprint, body }, ttlMs: graceMs };
          ctx.body = body;
          ctx.type = 'application/json; charset=utf-8';
        }
      } finally {
        // One write: the replay (if any) and the release. If it fails, the refresh already
        // happened (the client keeps its new tokens): release without it, and a lease that
        // cannot be released expires on its own after leaseMs.
        await options.locks
          .release(key, owner, replay)
          .catch(() => (replay ? options.locks.release(key, owner).catch(() => {}) : undefined));
      }
    });
  };
}

/** Runs `task` after every earlier task for `key` in this process has finished. */
async function inQueue(queues: Map<string, Promise<void>>, key: string, task: () => Promise<void>): Promise<void> {
  const previous = queues.get(key);
  let done!: () => void;
  const mine = new Promise<void>((resolve) => (done = resolve));
  queues.set(key, mine);
  try {
    if (previous) await previous;
    await task();
  } finally {
    done();
    if (queues.get(key) === mine) queues.delete(key);
  }
}

/**
 * Polls for the lease until it is ours. Gives up after a lease's lifetime and a bit: by then a
 * holder that died has lost its lease, so only a holder that is alive and stuck makes us fail.
 */
async function takeLease(locks: LockStore, key: string, owner: string, leaseMs: number): Promise<boolean> {
  const deadline = Date.now() + leaseMs + 1_000;
  let pause = POLL_MIN_MS;
  for (;;) {
    if (await locks.acquire(key, owner, leaseMs)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, POLL_MAX_MS);
  }
}

/**
 * A hash of what must be the same for a duplicate to get the first response: the client's
 * credentials as presented (client_id, Basic header, secret, assertion), the requested scope and
 * resource, and the DPoP key (proven by the proof's signature). Undefined when the DPoP proof
 * does not verify: such a request never gets a replay and goes to oidc-provider as it is.
 */
async function requestFingerprint(ctx: Context, form: Record<string, unknown>): Promise<string | undefined> {
  let dpopKey = '';
  const proof = ctx.get('DPoP');
  if (proof) {
    try {
      const { protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', maxTokenAge: '5m' });
      dpopKey = await calculateJwkThumbprint(protectedHeader.jwk!);
    } catch {
      return undefined;
    }
  }
  const parts = [
    form.client_id,
    ctx.get('Authorization'),
    form.client_secret,
    form.client_assertion,
    form.client_assertion_type,
    form.scope,
    form.resource,
    dpopKey,
  ];
  return sha256(JSON.stringify(parts));
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
