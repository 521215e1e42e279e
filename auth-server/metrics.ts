import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { Counter } from 'prom-client';
import { createHttpMetrics } from '../common/metrics.ts';

export type LoginResult = 'success' | 'failed' | 'locked';

export interface AuthMetrics {
  registry: ReturnType<typeof createHttpMetrics>['registry'];
  http: ReturnType<typeof createHttpMetrics>['middleware'];
  login(result: LoginResult): void;
  /** Counts this provider's token responses; called for every provider a key rotation builds. */
  observe(provider: Provider): void;
}

/**
 * The auth server's Prometheus metrics: requests by oidc-provider route (or ours), tokens issued
 * by grant type, token requests refused, logins by result.
 *
 * ```ts source="./metrics.examples.ts#authMetrics"
 * const metrics = authMetrics();
 * metrics.observe(provider);
 * app.use(metrics.http(authRouteOf));
 * ```
 */
export function authMetrics(): AuthMetrics {
  const base = createHttpMetrics('auth_server');
  const registers = [base.registry];
  const issued = new Counter({
    name: 'auth_server_tokens_issued_total',
    help: 'Token responses by grant type',
    labelNames: ['grant_type'] as const,
    registers,
  });
  const refused = new Counter({
    name: 'auth_server_token_errors_total',
    help: 'Refused token requests by error',
    labelNames: ['error'] as const,
    registers,
  });
  const logins = new Counter({
    name: 'auth_server_logins_total',
    help: 'Login attempts by result',
    labelNames: ['result'] as const,
    registers,
  });
  const observe = (provider: Provider) => {
    const emitter = provider as unknown as NodeJS.EventEmitter;
    emitter.on('grant.success', (ctx: KoaContextWithOIDC) => issued.inc({ grant_type: grantType(ctx.oidc.params?.grant_type) }));
    emitter.on('grant.error', (_ctx: unknown, error: { error?: string }) => refused.inc({ error: error.error ?? 'server_error' }));
  };
  return { registry: base.registry, http: base.middleware, login: (result) => logins.inc({ result }), observe };
}

const KNOWN_GRANTS = new Set(['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code']);

/** Labels stay bounded: an unknown grant type sent by a client is "other". */
function grantType(value: unknown): string {
  return typeof value === 'string' && KNOWN_GRANTS.has(value) ? value : 'other';
}

/** A bounded route label: oidc-provider's route name, our router's pattern, or "other". */
export function authRouteOf(ctx: Context): string {
  const oidcRoute = (ctx as Partial<KoaContextWithOIDC>).oidc?.route;
  if (oidcRoute) return oidcRoute;
  const matched = (ctx as Context & { _matchedRoute?: string })._matchedRoute;
  return typeof matched === 'string' ? matched : 'other';
}
