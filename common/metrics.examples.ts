/** Type-checked examples for metrics.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import { listen } from './http-server.ts';
import { createHttpMetrics, metricsApp, metricsEndpoint, type HttpMetrics } from './metrics.ts';

export function createHttpMetricsExample(app: Koa) {
  //#region createHttpMetrics
  const metrics = createHttpMetrics('auth_server');
  app.use(metrics.middleware((ctx) => (ctx.path === '/healthz' ? 'health' : 'other')));
  //#endregion createHttpMetrics
}

export function metricsEndpointExample(app: Koa, metrics: HttpMetrics) {
  //#region metricsEndpoint
  app.use(metricsEndpoint(metrics.registry, ['127.0.0.1', '::1']));
  //#endregion metricsEndpoint
}

export async function metricsAppExample(metrics: HttpMetrics, config: { metricsPort: number; host: string | undefined }) {
  //#region metricsApp
  await listen(metricsApp(metrics.registry), config.metricsPort, config.host);
  //#endregion metricsApp
}
