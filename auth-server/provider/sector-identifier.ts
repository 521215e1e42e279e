import type { Middleware } from 'koa';
import { oauthError } from './request-body.ts';

/**
 * Open registration may not name a `sector_identifier_uri`.
 *
 * Why: oidc-provider fetches it during registration, so anyone could make this server fetch a URL
 * of their choosing (and, before bodies were capped, read 8 MiB of it); and it only matters for
 * pairwise subjects, which this server does not issue. An operator registration (behind
 * `AUTH_INITIAL_ACCESS_TOKEN`) may still name one; its fetch stays capped and SSRF-guarded.
 * Runs after registration-defaults.ts, which has parsed the JSON body.
 *
 * ```ts source="./sector-identifier.examples.ts#refuseSectorIdentifier"
 * app.use(refuseSectorIdentifier('/reg', { open: !config.registration.initialAccessToken }));
 * ```
 */
export function refuseSectorIdentifier(registrationPath: string, options: { open: boolean }): Middleware {
  return async (ctx, next) => {
    const isRegistration =
      (ctx.method === 'POST' && ctx.path === registrationPath) || (ctx.method === 'PUT' && ctx.path.startsWith(`${registrationPath}/`));
    const body = (ctx.request as { body?: unknown }).body;
    if (!options.open || !isRegistration || !body || typeof body !== 'object' || !('sector_identifier_uri' in body)) return next();
    return oauthError(ctx, 400, 'invalid_client_metadata', 'sector_identifier_uri is not accepted in open registration');
  };
}
