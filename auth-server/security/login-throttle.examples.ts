/** Type-checked examples for login-throttle.ts (its JSDoc shows these regions). */
import type { Context } from 'koa';
import { loginThrottle } from './login-throttle.ts';
import type { RateLimiters } from './rate-limits.ts';

export async function loginThrottleExample(
  limiters: RateLimiters,
  cookieKey: string,
  ctx: Context,
  { username, password }: { username: string; password: string },
  authenticate: (username: string, password: string) => Promise<boolean>,
  tooManyAttempts: (waitSeconds: number) => void,
) {
  //#region loginThrottle
  const throttle = loginThrottle(limiters, cookieKey);
  const wait = await throttle.attempt(ctx, username);
  if (wait) return tooManyAttempts(wait);
  if (await authenticate(username, password)) await throttle.succeeded(ctx, username);
  //#endregion loginThrottle
}
