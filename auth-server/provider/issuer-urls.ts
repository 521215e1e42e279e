import type { Middleware } from 'koa';

const ABSOLUTE_FORM = /^https?:\/\//i;

/**
 * Pins every absolute URL oidc-provider builds to the configured issuer.
 *
 * Why: oidc-provider builds the URLs it hands out (the endpoints in both metadata documents,
 * `registration_client_uri`, the device `verification_uri`, the resume URL after sign-in) from
 * `ctx.href`, that is from the Host header, or behind a trusted proxy from X-Forwarded-Host, or
 * from an absolute-form request target (`GET http://evil.example/… HTTP/1.1`). All of those are
 * whatever the client sent: a forged Host pointed metadata at another server, and a shared cache
 * would have served that to everyone. The issuer is configured and authoritative, so the
 * request's href is rebuilt from it; the path and query stay the request's own.
 *
 * ```ts source="./issuer-urls.examples.ts#issuerUrls"
 * app.use(issuerUrls('https://auth.example.com/tenant'));
 * ```
 */
export function issuerUrls(issuer: string): Middleware {
  const origin = new URL(issuer).origin;
  return async (ctx, next) => {
    if (ABSOLUTE_FORM.test(ctx.req.url ?? '')) {
      // Routing and oidc-provider's mount-path arithmetic expect origin-form targets.
      const target = URL.parse(ctx.req.url!);
      if (target) ctx.originalUrl = ctx.request.originalUrl = ctx.req.url = `${target.pathname}${target.search}`;
    }
    // ctx.href reads request.href; an own property on this request shadows Koa's getter, which
    // would combine the protocol and Host of the request.
    Object.defineProperty(ctx.request, 'href', {
      configurable: true,
      get(this: { originalUrl: string }) {
        return `${origin}${this.originalUrl}`;
      },
    });
    return next();
  };
}
