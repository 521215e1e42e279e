import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * Cache-Control for the public documents oidc-provider serves without one.
 *
 * - Metadata (both well-known documents): changes only with the configuration, and discovery is
 *   what every client fetches first, so clients and shared caches may keep it for 5 minutes; a
 *   configuration change reaches everyone within that time.
 * - JWKS: a key is published as `next` at least AUTH_KEY_MIN_NEXT_AGE (default 120 s) before it
 *   signs (keys/signing-key-set.ts), and that minimum is set above this max-age: a cache in
 *   between never hides a key that signs. A resource server that meets an unknown `kid` refetches;
 *   one minute keeps that refetch from being served a stale copy for long.
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
