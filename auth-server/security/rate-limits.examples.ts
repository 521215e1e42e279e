/** Type-checked examples for rate-limits.ts (its JSDoc shows these regions). */
import type { Context } from 'koa';
import { blockedFor, createRateLimiters, hit, type RateLimiters, type RateLimitSettings } from './rate-limits.ts';

export function createRateLimitersExample(settings: RateLimitSettings, pool: unknown) {
  //#region createRateLimiters
  const limiters = createRateLimiters(settings); // memory
  const shared = createRateLimiters(settings, { pool, schema: 'public' });
  //#endregion createRateLimiters
}

export async function blockedForExample(limiters: RateLimiters, ip: string) {
  //#region blockedFor
  const wait = await blockedFor(limiters.loginIp, ip);
  //#endregion blockedFor
}

export async function hitExample(limiters: RateLimiters, ctx: Context, reply429: (waitSeconds: number) => void) {
  //#region hit
  const wait = await hit(limiters.registration, ctx.ip);
  if (wait) reply429(wait);
  //#endregion hit
}
