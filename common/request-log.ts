import type Koa from 'koa';
import type { Context, Middleware } from 'koa';
import { accessLog, isPretty, type AccessFields, type Logger } from './logger.ts';

/**
 * One log line per request: method, path (never the query: it can carry codes and hints),
 * status, duration, and the client when oidc-provider identified one. Health checks log at debug
 * so they don't drown the rest. For a person (pretty) the line reads `GET /token 200 12.3 ms
 * client=…` and the rest (ip) goes to debug; for a log pipeline (JSON) every field is on the line.
 *
 * ```ts source="./request-log.examples.ts#requestLog"
 * app.use(requestLog(log));
 * ```
 */
export function requestLog(log: Logger): Middleware {
  const pretty = isPretty(log);
  // Fixed fields, none a secret: the line skips pino's redaction (logger.ts, accessLog).
  const access = accessLog(log);
  return async (ctx, next) => {
    const start = performance.now();
    // Read now: after a refused body the socket may be gone, and Koa's ctx.ip would then throw.
    const ip = ctx.ip;
    try {
      await next();
    } finally {
      const clientId = (ctx as typeof ctx & { oidc?: { client?: { clientId?: string } } }).oidc?.client?.clientId;
      const fields: AccessFields = {
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
        access('debug', fields, 'request details');
      } else {
        access(level, fields, 'request');
      }
    }
  };
}

/**
 * Last-resort error handler, the one both servers use: never a stack trace to the client; 4xx
 * from koa's http-errors keep their status and message, anything else is a logged 500 with an
 * OAuth-style JSON body (`{ "error": "server_error", … }`), which API clients can read. A handler
 * that already took over the response (`ctx.respond = false`, e.g. an SSE stream) and sent its
 * headers cannot get a new status: the response is just ended.
 *
 * ```ts source="./request-log.examples.ts#errorBoundary"
 * app.use(errorBoundary(log));
 * ```
 */
export function errorBoundary(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const err = error as { status?: number; statusCode?: number; expose?: boolean; message?: string };
      const status = err.status ?? err.statusCode ?? 500;
      if (status >= 500) log.error({ err: error, path: ctx.path }, 'unhandled error');
      if (ctx.respond === false && ctx.res.headersSent) return void ctx.res.end();
      ctx.respond = true;
      ctx.status = status;
      const message = status < 500 && err.expose !== false && err.message ? err.message : 'internal server error';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { error: status < 500 ? 'invalid_request' : 'server_error', error_description: message };
    }
  };
}

/** Socket errors that only mean the client went away (an SSE client closing its tab, a proxy timing out). */
const CLIENT_GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ECANCELED', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * Koa's `error` event through our logger instead of Koa's default handler, which prints every
 * error to stderr, "read ECONNRESET" included each time a streaming client drops. Errors thrown
 * by middleware never get here (errorBoundary answers them); what does is what happens to a
 * response after it left, mostly a client that went away: debug. Anything else: error.
 *
 * ```ts source="./request-log.examples.ts#logAppErrors"
 * const app = new Koa();
 * logAppErrors(app, log); // before listen(): Koa installs its own handler when none is there
 * ```
 */
export function logAppErrors(app: Koa, log: Logger): void {
  app.on('error', (error: Error & { code?: string; expose?: boolean }, ctx?: Context) => {
    // `code` beside err: the logger redacts `*.code` (OAuth codes), which hides err.code.
    const fields = { err: error, code: error.code, path: ctx?.path, method: ctx?.method };
    if ((error.code && CLIENT_GONE.has(error.code)) || error.expose) log.debug(fields, 'client connection closed early');
    else log.error(fields, 'error after the response started');
  });
}
