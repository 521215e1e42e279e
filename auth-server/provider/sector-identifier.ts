import type { Middleware } from 'koa';
import { errors } from 'oidc-provider';
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

/**
 * A Client ID Metadata Document (URL client_id) may not name a `sector_identifier_uri` either.
 *
 * Why: the document is as much a stranger's input as an open registration, and oidc-provider
 * would fetch the sector URL while building the client from it: a second URL of the client's
 * choosing, on every request that loads the client. Called from the client policy
 * (client-policy.ts), which oidc-provider runs before that fetch; the error reaches the
 * authorization request's error page and the token endpoint like any other refused document.
 */
export function refuseSectorIdentifierInMetadataDocument(metadata: Record<string, unknown>): void {
  const urlClientId = typeof metadata.client_id === 'string' && /^https?:\/\//.test(metadata.client_id);
  if (!urlClientId || metadata.sector_identifier_uri === undefined) return;
  throw new errors.InvalidClientMetadata('sector_identifier_uri is not accepted in a client ID metadata document');
}
