import { createHmac } from 'node:crypto';
import type { Context } from 'koa';
import { blockedFor, hit, type RateLimiters } from './rate-limits.ts';

/** Remembers, per browser, which accounts signed in from it (signed cookie, no username in clear). */
const KNOWN_COOKIE = 'known_accounts';
const KNOWN_MAX_AGE_MS = 90 * 24 * 60 * 60 * 1000;

export interface LoginThrottle {
  /**
   * Call before checking the password: seconds the caller must wait (the attempt is refused), or
   * 0. A 0 has already counted the attempt as a failure, so that parallel attempts are counted
   * before any of them is checked; `succeeded` takes it back.
   */
  attempt(ctx: Context, username: string): Promise<number>;
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
 * ```ts source="./login-throttle.examples.ts#loginThrottle"
 * const throttle = loginThrottle(limiters, cookieKey);
 * const wait = await throttle.attempt(ctx, username);
 * if (wait) return tooManyAttempts(wait);
 * if (await authenticate(username, password)) await throttle.succeeded(ctx, username);
 * ```
 */
export function loginThrottle(limiters: RateLimiters | undefined, secret: string): LoginThrottle {
  const tag = (username: string) => createHmac('sha256', secret).update(`known:${username.toLowerCase()}`).digest('base64url').slice(0, 16);
  const known = (ctx: Context) => new Set((ctx.cookies.get(KNOWN_COOKIE, { signed: true }) ?? '').split('.').filter(Boolean));
  const account = (username: string) => username.toLowerCase();
  const pair = (ctx: Context, username: string) => `${account(username)}|${ctx.ip}`;

  return {
    async attempt(ctx, username) {
      if (!limiters) return 0;
      const accountLimited = !known(ctx).has(tag(username));
      const waits = [await blockedFor(limiters.loginAccountIp, pair(ctx, username)), await blockedFor(limiters.loginIp, ctx.ip)];
      if (accountLimited) waits.push(await blockedFor(limiters.loginAccount, account(username)));
      const wait = Math.max(...waits);
      if (wait) return wait;
      // Count the attempt now, atomically: a burst of parallel attempts all pass the check above
      // before any of them has failed, and only the ones within the limit may try a password.
      const [pairWait, ipWait, accountWait] = await Promise.all([
        hit(limiters.loginAccountIp, pair(ctx, username)),
        hit(limiters.loginIp, ctx.ip),
        hit(limiters.loginAccount, account(username)),
      ]);
      // One that lost that race is refused unchecked and stays counted: its key is locked anyway.
      return Math.max(pairWait, ipWait, accountLimited ? accountWait : 0);
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
      if (!limiters) return;
      // The attempt was counted as a failure up front; it was not one.
      await Promise.all([
        limiters.loginAccountIp.delete(pair(ctx, username)),
        limiters.loginIp.reward(ctx.ip),
        limiters.loginAccount.reward(account(username)),
      ]);
    },
  };
}
