import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * Cache-Control for the public documents oidc-provider serves without one.
 *
 * - Metadata (both well-known documents): changes only with the configuration, and discovery is
 *   what every client fetches first, so clients and shared caches may keep it for 5 minutes; a
 *   configuration change reaches everyone within that time.
 * - JWKS: a rotated key starts signing (and is published) when the server restarts; a resource
 *   server that meets the new `kid` refetches, and whatever cache sits in between must not hide the
 *   new key for long, so one minute.
 *
 * Both are safe to share only because every URL in them comes from the issuer, never from the
 * request (issuer-urls.ts).
 *
 * ```ts source="./metadata-caching.examples.ts#metadataCaching"
 * app.use(metadataCaching());
 * ```
 */
export function metadataCaching(): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return;
    if (ctx.status !== 200) return;
    const route = (ctx as Partial<KoaContextWithOIDC>).oidc?.route;
    if (route === 'discovery') ctx.set('Cache-Control', 'public, max-age=300');
    else if (route === 'jwks') ctx.set('Cache-Control', 'public, max-age=60');
  };
}
