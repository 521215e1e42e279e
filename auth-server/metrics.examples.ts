/** Type-checked examples for metrics.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import type Provider from 'oidc-provider';
import { authMetrics, authRouteOf } from './metrics.ts';

export function authMetricsExample(app: Koa, provider: Provider) {
  //#region authMetrics
  const metrics = authMetrics();
  metrics.observe(provider);
  app.use(metrics.http(authRouteOf));
  //#endregion authMetrics
}
