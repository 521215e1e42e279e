/** Type-checked examples for device-code-limits.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import type { Logger } from '../../common/logger.ts';
import type { Pages } from '../interactions/pages.ts';
import { deviceCodeLimits } from './device-code-limits.ts';
import type { RateLimiters } from './rate-limits.ts';

export function deviceCodeLimitsExample(app: Koa, limiters: RateLimiters, pages: Pages, audit: Logger) {
  //#region deviceCodeLimits
  app.use(deviceCodeLimits(limiters, { path: '/device', sessionCookie: '_session', pages, audit }));
  //#endregion deviceCodeLimits
}
