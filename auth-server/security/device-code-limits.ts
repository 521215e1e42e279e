import { createHash } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../../common/logger.ts';
import type { Pages } from '../interactions/pages.ts';
import { hit, type RateLimiters } from './rate-limits.ts';

export interface DeviceCodeLimitOptions {
  /** The code verification page (POST is where codes are checked). */
  path: string;
  /** oidc-provider's session cookie name: the browser session the codes are counted for. */
  sessionCookie: string;
  pages: Pages;
  audit: Logger;
}

/**
 * Brute-force protection for the device code page (RFC 8628 §5.1): user codes are short, so wrong
 * codes are counted per ip and per browser session, and past the limit the page answers 429 with
 * Retry-After until the window ends.
 *
 * Every submission is counted *before* oidc-provider checks it, so a parallel burst cannot get
 * more codes checked than the limit; a submission that found a live code (oidc-provider then holds
 * it as `ctx.oidc.entities.DeviceCode`) gives its point back. Wrong, expired and used codes stay
 * counted.
 *
 * ```ts source="./device-code-limits.examples.ts#deviceCodeLimits"
 * app.use(deviceCodeLimits(limiters, { path: '/device', sessionCookie: '_session', pages, audit }));
 * ```
 */
export function deviceCodeLimits(limiters: RateLimiters | undefined, options: DeviceCodeLimitOptions): Middleware {
  const { path, pages, audit } = options;
  return async (ctx, next) => {
    if (!limiters || ctx.method !== 'POST' || ctx.path !== path) return next();
    const counts: [RateLimiters['deviceCodeIp'], string][] = [[limiters.deviceCodeIp, ctx.ip]];
    const session = sessionKey(ctx, options.sessionCookie);
    if (session) counts.push([limiters.deviceCodeSession, session]);

    const wait = Math.max(...(await Promise.all(counts.map(([limiter, key]) => hit(limiter, key)))));
    if (wait) {
      audit.warn({ event: 'device_code.locked', ip: ctx.ip, retry_after: wait }, 'device code refused: too many wrong codes');
      ctx.set('Retry-After', String(wait));
      const minutes = Math.ceil(wait / 60);
      return pages.sendError(ctx, 429, {
        heading: 'Too many wrong codes',
        message: `Too many wrong codes were entered. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
        code: 'rate_limit_exceeded',
      });
    }
    await next();
    if ((ctx as Partial<KoaContextWithOIDC>).oidc?.entities.DeviceCode) {
      await Promise.all(counts.map(([limiter, key]) => limiter.reward(key)));
    }
  };
}

/**
 * The browser session, hashed: the cookie's value is the session id, a bearer secret that has no
 * place in a rate-limit table. Unsigned or forged cookies count for nothing (oidc-provider refuses
 * the form without a session anyway, and the ip count still applies).
 */
function sessionKey(ctx: Context, cookie: string): string | undefined {
  const id = ctx.cookies.get(cookie, { signed: true });
  return id ? createHash('sha256').update(id).digest('base64url') : undefined;
}
