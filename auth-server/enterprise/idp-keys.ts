import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import type { TrustedIdp } from './trusted-idps.ts';

/** How long a metadata or JWKS request to a trusted IdP may take. */
const FETCH_TIMEOUT_MS = 5000;

/** Thrown when a trusted IdP's keys cannot be found (its metadata is unreachable or wrong). */
export class IdpUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IdpUnavailableError';
  }
}

/**
 * The signing keys of each trusted IdP, as jose key resolvers: its configured `jwksUri`, or the
 * `jwks_uri` of its metadata (OpenID discovery, then RFC 8414), looked up at first use and kept.
 * A failed lookup is not kept, so the next grant tries again. jose caches the JWKS and refetches
 * it (rate-limited) when a token names an unknown `kid`, so IdP key rotation needs no restart.
 * The URLs are the operator's: no SSRF guard.
 *
 * ```ts source="./idp-keys.examples.ts#idpKeys"
 * const keys = idpKeys(config.trustedIdps);
 * await jwtVerify(assertion, await keys.resolverFor(idp), { issuer: idp.issuer });
 * ```
 */
export function idpKeys(idps: readonly TrustedIdp[]) {
  const resolvers = new Map<string, Promise<JWTVerifyGetKey>>();
  for (const idp of idps) {
    if (idp.jwksUri) resolvers.set(idp.issuer, Promise.resolve(remote(idp.jwksUri)));
  }
  return {
    resolverFor(idp: TrustedIdp): Promise<JWTVerifyGetKey> {
      let resolver = resolvers.get(idp.issuer);
      if (!resolver) {
        resolver = discoverJwksUri(idp.issuer).then(remote);
        resolvers.set(idp.issuer, resolver);
        resolver.catch(() => resolvers.delete(idp.issuer));
      }
      return resolver;
    },
  };
}

function remote(url: string): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(url), { timeoutDuration: FETCH_TIMEOUT_MS });
}

async function discoverJwksUri(issuer: string): Promise<string> {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, '');
  const candidates = [
    `${url.origin}${path}/.well-known/openid-configuration`,
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
  ];
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      const response = await fetch(candidate, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
      if (!response.ok) {
        failures.push(`${candidate}: HTTP ${response.status}`);
        continue;
      }
      const metadata = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
      // RFC 8414 §3.3: metadata for another issuer is not this IdP's.
      if (metadata.issuer !== issuer) {
        failures.push(`${candidate}: issuer ${String(metadata.issuer)} is not ${issuer}`);
        continue;
      }
      if (typeof metadata.jwks_uri !== 'string' || !URL.canParse(metadata.jwks_uri)) {
        failures.push(`${candidate}: no jwks_uri`);
        continue;
      }
      return metadata.jwks_uri;
    } catch (error) {
      failures.push(`${candidate}: ${(error as Error).message}`);
    }
  }
  throw new IdpUnavailableError(`no JWKS for ${issuer} (${failures.join('; ')})`);
}
