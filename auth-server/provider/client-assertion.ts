import { errors, type KoaContextWithOIDC } from 'oidc-provider';

/** Longest lifetime (exp − iat, and exp − now) of a client assertion we accept, in seconds. */
export const MAX_CLIENT_ASSERTION_LIFETIME = 300;

/**
 * The `typ` values a client assertion may carry (RFC 7523bis §4 registers
 * `application/client-authentication+jwt`; `JWT` is what RFC 7523-era clients send). No `typ` is
 * accepted too: RFC 7523 never asked for one, and most clients send none.
 */
const ASSERTION_TYPES = new Set(['jwt', 'client-authentication+jwt']);

/**
 * A `typ` as RFC 7515 §4.1.9 has it compared: a media type, so case-insensitive, with
 * `application/` implied when there is no `/`.
 */
function mediaTypeOf(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

/**
 * oidc-provider's `assertJwtClientAuthClaimsAndHeader`: the checks on private_key_jwt (RFC 7523)
 * assertions it leaves to us. oidc-provider itself already verifies the signature against the
 * client's JWKS with an asymmetric algorithm only (HS* is filtered out for private_key_jwt), the
 * `iss`/`sub`, the presence of `exp` and `jti`, and the `jti`'s single use (ReplayDetection,
 * through our adapter, until `exp`).
 *
 * - `aud` must be the issuer identifier as a single string (RFC 7523bis, the fix for the
 *   audience-injection attacks on multi-endpoint audiences). oidc-provider by default also accepts
 *   the token endpoint URL, the URL of the endpoint called, and arrays holding any of them; that
 *   stays available behind `compat` (AUTH_CLIENT_ASSERTION_AUD_COMPAT) for clients written
 *   against RFC 7523 as first published.
 * - The assertion lives at most MAX_CLIENT_ASSERTION_LIFETIME: a leaked one is worth little, and
 *   the replay cache need not keep its `jti` for long.
 * - Explicit typing (RFC 7523bis, RFC 8725 §3.11): a `typ` header, when present, must be `JWT`
 *   or `client-authentication+jwt`. Any other JWT the client's key signed (an ID-JAG
 *   `oauth-id-jag+jwt`, a DPoP proof `dpop+jwt`, an access token `at+jwt`…) that happens to carry
 *   `iss` = `sub` = the client id, our `aud`, a short `exp` and a `jti` is never taken for a client
 *   assertion. Always on: it costs a client that types its assertions correctly nothing.
 */
export function clientAssertionPolicy(options: { compat: boolean }) {
  return async function assertJwtClientAuthClaimsAndHeader(
    ctx: KoaContextWithOIDC,
    claims: Record<string, unknown>,
    header: Record<string, unknown>,
  ): Promise<void> {
    const { typ } = header;
    if (typ !== undefined && (typeof typ !== 'string' || !ASSERTION_TYPES.has(mediaTypeOf(typ)))) {
      throw new errors.InvalidClientAuth(
        `a client assertion's typ must be client-authentication+jwt or JWT (or absent), not ${JSON.stringify(typ)}`,
      );
    }
    const { aud, exp, iat } = claims;
    if (options.compat) {
      // oidc-provider has already checked aud against its own set (issuer, token or called endpoint).
    } else if (aud !== ctx.oidc.issuer) {
      throw new errors.InvalidClientAuth('audience (aud) must be the issuer identifier, as a single string');
    }
    const now = Math.floor(Date.now() / 1000);
    const lifetime = typeof iat === 'number' ? (exp as number) - iat : (exp as number) - now;
    if (typeof exp !== 'number' || lifetime > MAX_CLIENT_ASSERTION_LIFETIME || exp - now > MAX_CLIENT_ASSERTION_LIFETIME) {
      throw new errors.InvalidClientAuth(`client_assertion must expire within ${MAX_CLIENT_ASSERTION_LIFETIME} seconds`);
    }
  };
}
