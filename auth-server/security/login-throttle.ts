import { createHmac } from 'node:crypto';
import type { Context } from 'koa';
import { blockedFor, hit, type RateLimiters } from './rate-limits.ts';

/** Remembers, per browser, which accounts signed in from it (signed cookie, no username in clear). */
const KNOWN_COOKIE = 'known_accounts';
const KNOWN_MAX_AGE_MS = 90 * 24 * 60 * 60 * 1000;

export interface LoginThrottle {
  /** Seconds the caller must wait before trying this account, or 0. */
  blocked(ctx: Context, username: string): Promise<number>;
  failed(ctx: Context, username: string): Promise<void>;
  succeeded(ctx: Context, username: string): Promise<void>;
}

/**
 * Brute-force protection for the login form, in three layers:
 * - per (account, ip): the real guard against guessing one password from one place;
 * - per ip: one place guessing many accounts;
 * - per account from everywhere: distributed guessing. This one could be abused to keep a user
 *   out, so it never applies to a browser the user has already signed in with (a signed cookie),
 *   and like every lock here it ends by itself.
 *
 * @example
 * const throttle = loginThrottle(limiters, cookieKey);
 * if (await throttle.blocked(ctx, username)) return tooManyAttempts();
 */
export function loginThrottle(limiters: RateLimiters | undefined, secret: string): LoginThrottle {
  const tag = (username: string) => createHmac('sha256', secret).update(`known:${username.toLowerCase()}`).digest('base64url').slice(0, 16);
  const known = (ctx: Context) => new Set((ctx.cookies.get(KNOWN_COOKIE, { signed: true }) ?? '').split('.').filter(Boolean));
  const account = (username: string) => username.toLowerCase();
  const pair = (ctx: Context, username: string) => `${account(username)}|${ctx.ip}`;

  return {
    async blocked(ctx, username) {
      if (!limiters) return 0;
      const waits = [await blockedFor(limiters.loginAccountIp, pair(ctx, username)), await blockedFor(limiters.loginIp, ctx.ip)];
      if (!known(ctx).has(tag(username))) waits.push(await blockedFor(limiters.loginAccount, account(username)));
      return Math.max(...waits);
    },
    async failed(ctx, username) {
      if (!limiters) return;
      await Promise.all([
        hit(limiters.loginAccountIp, pair(ctx, username)),
        hit(limiters.loginIp, ctx.ip),
        hit(limiters.loginAccount, account(username)),
      ]);
    },
    async succeeded(ctx, username) {
      const tags = known(ctx);
      tags.add(tag(username));
      ctx.cookies.set(KNOWN_COOKIE, [...tags].slice(-10).join('.'), {
        signed: true,
        httpOnly: true,
        sameSite: 'lax',
        secure: ctx.secure,
        maxAge: KNOWN_MAX_AGE_MS,
        path: '/',
      });
      if (limiters) await limiters.loginAccountIp.delete(pair(ctx, username));
    },
  };
}
