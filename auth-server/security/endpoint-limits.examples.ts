/** Type-checked examples for endpoint-limits.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import { endpointLimits } from './endpoint-limits.ts';
import type { RateLimiters } from './rate-limits.ts';

export function endpointLimitsExample(app: Koa, limiters: RateLimiters) {
  //#region endpointLimits
  app.use(endpointLimits(limiters, { registration: '/reg', token: '/token' }));
  //#endregion endpointLimits
}
