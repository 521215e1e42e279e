import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';

export interface VerifierOptions {
  /** The auth server's issuer URL, exactly as in its metadata (`iss` of its tokens). */
  issuer: string;
  /** This server's MCP endpoint URL: the `resource` clients ask for, so the tokens' `aud`. */
  audience: string;
  /** The auth server's keys; default `<issuer>/jwks` (what its metadata names as jwks_uri). */
  jwksUrl?: string;
}

/**
 * Verifies the auth server's JWT access tokens (RFC 9068) for the SDK's requireBearerAuth:
 * signature by a key of the issuer's JWKS (asymmetric algorithms only), `typ: at+jwt` (an ID token
 * is not an access token), `iss`, `aud` = this server (a token for another resource is refused)
 * and `exp`. Any failure is an InvalidTokenError, which requireBearerAuth answers with 401 and a
 * challenge; any other error would become a 500.
 */
export function createJwtVerifier(options: VerifierOptions): OAuthTokenVerifier {
  // jose caches the keys and refetches on an unknown `kid` (key rotation), at most every 30 s.
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl ?? `${options.issuer}/jwks`));
  return {
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      try {
        const { payload } = await jwtVerify(token, jwks, {
          issuer: options.issuer,
          audience: options.audience,
          typ: 'at+jwt',
          algorithms: ['ES256', 'RS256', 'PS256', 'EdDSA'],
          requiredClaims: ['sub', 'exp', 'client_id'],
        });
        return {
          token,
          clientId: String(payload.client_id),
          scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
          expiresAt: payload.exp,
          // requireBearerAuth compares this with its expectedResource.
          resource: new URL(options.audience),
          extra: { sub: payload.sub, roles: Array.isArray(payload.roles) ? payload.roles : [] },
        };
      } catch (error) {
        if (error instanceof errors.JOSEError) throw new InvalidTokenError(error.message);
        throw error;
      }
    },
  };
}
