import cors from '@koa/cors';
import type Koa from 'koa';

/**
 * CORS for the registration endpoint alone: browser-based clients (MCP Inspector 1.x) register
 * from the page. oidc-provider has none there, and it skips its own per-client CORS on /token when
 * Access-Control-* headers are already set, so a global CORS layer would bypass it.
 *
 * ```ts source="./registration-cors.examples.ts#registrationCors"
 * app.use(registrationCors('/reg'));
 * ```
 */
export function registrationCors(path: string) {
  const handler = cors({
    origin: (ctx) => ctx.get('Origin') || '*',
    allowMethods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type'],
    maxAge: 600,
  });
  return async (ctx: Koa.Context, next: Koa.Next) => {
    if (ctx.path === path || ctx.path.startsWith(`${path}/`)) return handler(ctx, next);
    return next();
  };
}
