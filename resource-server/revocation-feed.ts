import type { AuthInfo } from '@modelcontextprotocol/server';
import type { Logger } from '../common/logger.ts';
import { REFUSAL_REPORT_HEADER } from '../common/refusal-report.ts';
import type { RefusalTally } from './refusal-tally.ts';
import type { Secret } from './secret.ts';

/** One entry of the auth server's feed (auth-server/revocation/feed-routes.ts); times in epoch ms. */
interface FeedEntry {
  type: 'grant' | 'account' | 'client' | 'pat';
  id: string;
  at: number;
  until: number;
}

export interface RevocationFeedOptions {
  /** The feed: `<AUTH_INTERNAL_URL>/revocations`. */
  url: string;
  /** This server's client at the auth server (RS_CLIENT_ID/RS_CLIENT_SECRET). */
  client: { id: string; secret: Secret };
  /** RS_REVOCATION_POLL_SECONDS, in ms. */
  pollMs: number;
  /** RS_REVOCATION_MAX_STALENESS in ms: refuse everything once the list is older. Undefined: never. */
  maxStalenessMs?: number | undefined;
  /** Bound on each pull (AUTH_FETCH_TIMEOUT_MS is for the request path; a pull may take longer). */
  timeoutMs: number;
  log: Logger;
  /**
   * This server's token refusals not yet reported: each pull carries them to the auth server's
   * dashboard (common/refusal-report.ts), and only a 200 acknowledges them.
   */
  refusals?: RefusalTally | undefined;
  /** The clock, epoch ms (tests). */
  now?: () => number;
}

/** What the token gate asks: `revoked` (401 invalid_token), `stale` (503), or undefined (serve). */
export type RevocationVerdict = 'revoked' | 'stale' | undefined;

export interface RevocationFeed {
  /** Whether this verified caller's token is revoked, or the list too old to tell. */
  check(auth: AuthInfo): RevocationVerdict;
  /** Seconds since the last successful pull (since start before the first one): the metric. */
  ageSeconds(): number;
  /** Entries held. */
  size(): number;
  /** One pull now (start() runs them on the poll interval); resolves whether it succeeded. */
  pull(): Promise<boolean>;
  /**
   * Calls `listener` after each pull that brought new entries (open event streams ask `check`
   * again then: stream-lifetime.ts). Returns the unsubscribe function.
   */
  onUpdate(listener: () => void): () => void;
  start(): void;
  /** Stops polling; resolves once no pull is running. */
  stop(): Promise<void>;
}

/**
 * Keeps this server's copy of the auth server's revocation feed: revoked grants, disabled
 * accounts and clients, revoked personal access tokens. JWT access tokens are checked locally
 * and cached, so without this a revoked token would be accepted until its `exp`; with it, a
 * revocation reaches every instance within one poll interval. Pulls are incremental (the feed's
 * cursor); each entry is dropped once every token it names has expired (`until`).
 *
 * Accounts and clients are matched by `sub` and `client_id` for tokens issued (`iat`) before the
 * revocation, so an account enabled again gets working tokens at once; grants by the access
 * token's `grant_id`, personal access tokens by their id.
 *
 * A failed pull keeps the list and logs; `ageSeconds` grows. Whether an old list still serves is
 * the operator's choice (RS_REVOCATION_MAX_STALENESS): by default it does, since the feed only
 * adds refusals and a down auth server must not take the resource servers down.
 *
 * ```ts source="./revocation-feed.examples.ts#createRevocationFeed"
 * const feed = createRevocationFeed({ url: `${issuer}/revocations`, client, pollMs: 10_000, timeoutMs: 5_000, log });
 * feed.start();
 * if (feed.check(authInfo) === 'revoked') refuse();
 * ```
 */
export function createRevocationFeed(options: RevocationFeedOptions): RevocationFeed {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const basic = `Basic ${Buffer.from(`${formEncode(options.client.id)}:${formEncode(options.client.secret.reveal())}`).toString('base64')}`;
  const grants = new Map<string, number>();
  const pats = new Map<string, number>();
  const accounts = new Map<string, { at: number; until: number }>();
  const clients = new Map<string, { at: number; until: number }>();
  const listeners = new Set<() => void>();
  let cursor: number | undefined;
  let lastSuccess: number | undefined;
  let failing = false;
  let stopped = true;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<boolean> | undefined;

  const merge = (entry: FeedEntry) => {
    if (typeof entry?.id !== 'string' || typeof entry.until !== 'number' || typeof entry.at !== 'number') return;
    if (entry.type === 'grant' || entry.type === 'pat') {
      const map = entry.type === 'grant' ? grants : pats;
      map.set(entry.id, Math.max(map.get(entry.id) ?? 0, entry.until));
    } else if (entry.type === 'account' || entry.type === 'client') {
      const map = entry.type === 'account' ? accounts : clients;
      const known = map.get(entry.id);
      map.set(entry.id, { at: Math.max(known?.at ?? 0, entry.at), until: Math.max(known?.until ?? 0, entry.until) });
    }
  };

  const dropExpired = () => {
    const t = now();
    for (const map of [grants, pats]) for (const [id, until] of map) if (until <= t) map.delete(id);
    for (const map of [accounts, clients]) for (const [id, { until }] of map) if (until <= t) map.delete(id);
  };

  async function pullOnce(): Promise<boolean> {
    const url = new URL(options.url);
    if (cursor !== undefined) url.searchParams.set('since', String(cursor));
    const report = options.refusals?.report();
    const headers: Record<string, string> = { authorization: basic, accept: 'application/json' };
    if (report) headers[REFUSAL_REPORT_HEADER] = report.header;
    try {
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(options.timeoutMs) });
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(
          response.status === 401 || response.status === 403
            ? `the auth server refused this server's client credentials (HTTP ${response.status}): check RS_CLIENT_ID/RS_CLIENT_SECRET`
            : `HTTP ${response.status}`,
        );
      }
      const body = (await response.json()) as { entries?: unknown; cursor?: unknown };
      if (!Array.isArray(body.entries) || typeof body.cursor !== 'number') throw new Error('the answer is not a revocation feed');
      for (const entry of body.entries as FeedEntry[]) merge(entry);
      if (body.entries.length > 0) for (const listener of [...listeners]) listener();
      // The auth server answers only after it recorded the report.
      if (report) options.refusals?.acknowledge(report);
      cursor = body.cursor;
      lastSuccess = now();
      dropExpired();
      if (failing) options.log.info({ url: options.url, entries: size() }, 'revocation feed reachable again');
      failing = false;
      return true;
    } catch (error) {
      dropExpired();
      failing = true;
      // At start the auth server may simply not be up yet (npm start launches both at once): until
      // one poll interval has passed with no answer, that is news, not a warning.
      if (lastSuccess === undefined && now() - startedAt < options.pollMs) {
        options.log.info(
          { url: options.url, next_try_seconds: options.pollMs / 1000 },
          `revocation feed not reachable yet (the auth server may still be starting): ${(error as Error).message}`,
        );
        return false;
      }
      options.log.warn(
        { url: options.url, err: error, age_seconds: Math.round(ageSeconds()), keeps_serving: options.maxStalenessMs === undefined },
        `revocation feed unreachable, keeping the last list: ${(error as Error).message}`,
      );
      return false;
    }
  }

  const size = () => grants.size + pats.size + accounts.size + clients.size;
  const ageSeconds = () => (now() - (lastSuccess ?? startedAt)) / 1000;

  const pull = () => {
    running ??= pullOnce().finally(() => (running = undefined));
    return running;
  };

  const schedule = () => {
    if (stopped) return;
    // setTimeout after each pull rather than setInterval: a slow auth server cannot pile them up.
    timer = setTimeout(() => void pull().finally(schedule), options.pollMs);
    timer.unref();
  };

  return {
    check(auth) {
      if (options.maxStalenessMs !== undefined && now() - (lastSuccess ?? startedAt) > options.maxStalenessMs) return 'stale';
      const extra = auth.extra ?? {};
      if (typeof extra.grant_id === 'string' && grants.has(extra.grant_id)) return 'revoked';
      if (typeof extra.pat_id === 'string' && pats.has(extra.pat_id)) return 'revoked';
      // iat in seconds, `at` in ms: a token from the same second as the revocation is refused.
      const issuedAt = typeof extra.iat === 'number' ? extra.iat * 1000 : 0;
      const account = typeof extra.sub === 'string' ? accounts.get(extra.sub) : undefined;
      if (account && issuedAt <= account.at) return 'revoked';
      const client = clients.get(auth.clientId);
      if (client && issuedAt <= client.at) return 'revoked';
      return undefined;
    },
    ageSeconds,
    size,
    pull,
    onUpdate(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    start() {
      if (!stopped) return;
      stopped = false;
      void pull().finally(schedule);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replaceAll('%20', '+');
}
