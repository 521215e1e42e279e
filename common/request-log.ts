import type { Middleware } from 'koa';
import { isPretty, type Logger } from './logger.ts';

/**
 * One log line per request: method, path (never the query: it can carry codes and hints),
 * status, duration, and the client when oidc-provider identified one. Health checks log at debug
 * so they don't drown the rest. For a person (pretty) the line reads `GET /token 200 12.3 ms
 * client=…` and the rest (ip) goes to debug; for a log pipeline (JSON) every field is on the line.
 *
 * @example
 * app.use(requestLog(log));
 */
export function requestLog(log: Logger): Middleware {
  const pretty = isPretty(log);
  return async (ctx, next) => {
    const start = performance.now();
    // Read now: after a refused body the socket may be gone, and Koa's ctx.ip would then throw.
    const ip = ctx.ip;
    try {
      await next();
    } finally {
      const clientId = (ctx as typeof ctx & { oidc?: { client?: { clientId?: string } } }).oidc?.client?.clientId;
      const fields = {
        method: ctx.method,
        path: ctx.path,
        status: ctx.status,
        ms: Math.round((performance.now() - start) * 10) / 10,
        ip,
        ...(clientId ? { client_id: clientId } : {}),
      };
      const level = ctx.path === '/healthz' ? 'debug' : ctx.status >= 500 ? 'error' : 'info';
      if (pretty) {
        log[level](`${fields.method} ${fields.path} ${fields.status} ${fields.ms} ms${clientId ? ` client=${clientId}` : ''}`);
        log.debug(fields, 'request details');
      } else {
        log[level](fields, 'request');
      }
    }
  };
}

/**
 * Last-resort error handler: never a stack trace to the client; 4xx from koa's http-errors keep
 * their status and message, anything else is a logged 500.
 *
 * @example
 * app.use(errorBoundary(log));
 */
export function errorBoundary(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const err = error as { status?: number; statusCode?: number; expose?: boolean; message?: string };
      const status = err.status ?? err.statusCode ?? 500;
      if (status >= 500) log.error({ err: error, path: ctx.path }, 'unhandled error');
      ctx.status = status;
      const message = status < 500 && err.expose !== false && err.message ? err.message : 'internal server error';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { error: status < 500 ? 'invalid_request' : 'server_error', error_description: message };
    }
  };
}
