import type { Context } from 'koa';
import { Counter, Gauge } from 'prom-client';
import { createHttpMetrics } from '../common/metrics.ts';

export interface ResourceMetrics {
  registry: ReturnType<typeof createHttpMetrics>['registry'];
  http: ReturnType<typeof createHttpMetrics>['middleware'];
  /** A refused request: `reason` is the challenge's error code and short description. */
  refused(status: number, error: string | undefined, description: string | undefined): void;
  jwksFetched(): void;
}

/**
 * The resource server's Prometheus metrics: requests by route, refusals by reason, JWKS fetches,
 * open MCP sessions and, with a revocation feed, its age and size (read when scraped).
 *
 * ```ts source="./metrics.examples.ts#resourceMetrics"
 * const metrics = resourceMetrics(() => sessions.size);
 * ```
 */
export function resourceMetrics(
  openSessions: () => number,
  revocationFeed?: () => { ageSeconds: number; entries: number } | undefined,
  /** Also told of every refusal: the tally the revocation feed reports to the auth server. */
  onRefused?: (status: number, error: string | undefined) => void,
): ResourceMetrics {
  const base = createHttpMetrics('resource_server');
  const registers = [base.registry];
  const refusals = new Counter({
    name: 'resource_server_token_refusals_total',
    help: 'Requests refused by the token check, by status, error and reason',
    labelNames: ['status', 'error', 'reason'] as const,
    registers,
  });
  const jwks = new Counter({ name: 'resource_server_jwks_fetches_total', help: 'Fetches of the issuer JWKS', registers });
  new Gauge({
    name: 'resource_server_mcp_sessions',
    help: 'Open MCP sessions (Streamable HTTP and legacy SSE)',
    registers,
    collect() {
      this.set(openSessions());
    },
  });
  // Only with a feed (RS_CLIENT_ID): a series that is absent says "no feed", not "fresh".
  if (revocationFeed) {
    new Gauge({
      name: 'resource_server_revocation_feed_age_seconds',
      help: 'Seconds since the revocation feed was last pulled successfully (since start before the first pull); alert when it grows',
      registers,
      collect() {
        const feed = revocationFeed();
        if (feed) this.set(feed.ageSeconds);
      },
    });
    new Gauge({
      name: 'resource_server_revocation_entries',
      help: 'Revocation feed entries held (revoked grants, disabled accounts and clients, revoked personal access tokens)',
      registers,
      collect() {
        const feed = revocationFeed();
        if (feed) this.set(feed.entries);
      },
    });
  }
  return {
    registry: base.registry,
    http: base.middleware,
    refused: (status, error, description) => {
      refusals.inc({ status: String(status), error: error ?? 'missing_token', reason: description ?? (error ? error : 'no token') });
      onRefused?.(status, error);
    },
    jwksFetched: () => jwks.inc(),
  };
}

/** Bounded route labels: the MCP paths by role, the metadata, health, or "other". */
export function resourceRouteOf(paths: { mcp: string; sse: string; messages: string; metadata: ReadonlySet<string> }) {
  return (ctx: Context): string => {
    if (ctx.path === paths.mcp) return 'mcp';
    if (ctx.path === paths.sse) return 'sse';
    if (ctx.path === paths.messages) return 'messages';
    if (paths.metadata.has(ctx.path)) return 'protected_resource_metadata';
    if (ctx.path === '/healthz') return 'healthz';
    return 'other';
  };
}
