import Koa, { type Middleware } from 'koa';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export interface HttpMetrics {
  registry: Registry;
  /** Counts and times every request, labelled by a bounded route name (never the raw path). */
  middleware(routeOf: (ctx: Parameters<Middleware>[0]) => string): Middleware;
}

/**
 * A Prometheus registry for one server with process metrics and HTTP request metrics.
 *
 * ```ts source="./metrics.examples.ts#createHttpMetrics"
 * const metrics = createHttpMetrics('auth_server');
 * app.use(metrics.middleware((ctx) => (ctx.path === '/healthz' ? 'health' : 'other')));
 * ```
 */
export function createHttpMetrics(prefix: string): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: `${prefix}_` });
  const requests = new Counter({
    name: `${prefix}_http_requests_total`,
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${prefix}_http_request_duration_seconds`,
    help: 'HTTP request latency by route',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return {
    registry,
    middleware(routeOf) {
      return async (ctx, next) => {
        const start = performance.now();
        try {
          await next();
        } finally {
          const route = routeOf(ctx);
          // Streaming responses (SSE) finish later; their status is what was sent first.
          requests.inc({ route, method: ctx.method, status: String(ctx.respond === false ? ctx.res.statusCode : ctx.status) });
          duration.observe({ route }, (performance.now() - start) / 1000);
        }
      };
    },
  };
}

/**
 * GET /metrics on the main port, for the listed client ips only (others get 404, as if it were
 * not there). An empty list serves it to nobody: use the separate metrics port instead.
 *
 * ```ts source="./metrics.examples.ts#metricsEndpoint"
 * app.use(metricsEndpoint(metrics.registry, ['127.0.0.1', '::1']));
 * ```
 */
export function metricsEndpoint(registry: Registry, allow: readonly string[]): Middleware {
  const everyone = allow.includes('*');
  const allowed = new Set(allow.flatMap((ip) => [ip, `::ffff:${ip}`]));
  return async (ctx, next) => {
    if (ctx.path !== '/metrics' || ctx.method !== 'GET' || !(everyone || allowed.has(ctx.ip))) return next();
    ctx.set('Content-Type', registry.contentType);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await registry.metrics();
  };
}

/**
 * The separate metrics listener (a port you do not publish): /metrics for anyone who can reach it.
 *
 * ```ts source="./metrics.examples.ts#metricsApp"
 * await listen(metricsApp(metrics.registry), config.metricsPort, config.host);
 * ```
 */
export function metricsApp(registry: Registry): Koa {
  const app = new Koa();
  app.use(metricsEndpoint(registry, ['*']));
  return app;
}
