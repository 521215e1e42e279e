import type { Middleware } from 'koa';
import { oauthError } from '../provider/request-body.ts';
import { hit, type RateLimiters } from './rate-limits.ts';

/**
 * Rate limits in front of oidc-provider: registrations per ip and token requests per client and ip.
 * Runs after the body was parsed (resource-parameter.ts), so the form's client_id is at hand.
 *
 * ```ts source="./endpoint-limits.examples.ts#endpointLimits"
 * app.use(endpointLimits(limiters, { registration: '/reg', token: '/token' }));
 * ```
 */
export function endpointLimits(limiters: RateLimiters | undefined, routes: { registration: string; token: string }): Middleware {
  return async (ctx, next) => {
    if (!limiters || ctx.method !== 'POST') return next();
    let wait = 0;
    if (ctx.path === routes.registration) wait = await hit(limiters.registration, ctx.ip);
    else if (ctx.path === routes.token) {
      const clientId = tokenClientId(ctx.get('authorization'), (ctx.request as { body?: unknown }).body);
      // Per client *and* ip: client ids are public (URL client ids above all), so a count per
      // client alone would let anyone lock every user of a popular client out of /token.
      if (clientId) wait = await hit(limiters.token, `${clientId}|${ctx.ip}`);
    }
    if (!wait) return next();
    ctx.set('Retry-After', String(wait));
    oauthError(ctx, 429, 'rate_limit_exceeded', `too many requests; retry after ${wait} seconds`);
  };
}

/** The client a token request is for: HTTP Basic user, else the form's client_id. */
function tokenClientId(authorization: string, body: unknown): string | undefined {
  if (authorization.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const user = decoded.slice(0, Math.max(0, decoded.indexOf(':')));
    if (user) return safeDecode(user);
  }
  const id = (body as Record<string, unknown> | undefined)?.client_id;
  return typeof id === 'string' && id ? id : undefined;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
