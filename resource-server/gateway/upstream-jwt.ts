import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importPKCS8, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { UpstreamIdentity } from './upstream.ts';

/** Where the resource server publishes the public key its upstream JWTs are signed with. */
export const UPSTREAM_JWKS_PATH = '/.well-known/upstream-jwks.json';

/**
 * Lifetime of one upstream JWT. Each forwarded HTTP request gets a fresh one, so it only has to
 * outlive one request; short, because the upstream cannot revoke it.
 */
export const UPSTREAM_JWT_TTL_SEC = 60;

const ALG = 'ES256';

/** Signs the identity JWTs an HTTP upstream gets with MCP_UPSTREAM_IDENTITY=jwt. */
export interface UpstreamJwt {
  /** The public key set to verify them with (served at UPSTREAM_JWKS_PATH). */
  jwks: { keys: JWK[] };
  /** A JWT for the upstream's audience about the caller: sub, client_id, scope, roles. */
  sign(identity: UpstreamIdentity): Promise<string>;
}

export interface UpstreamJwtOptions {
  /** `iss`: this resource server (its resource URL). */
  issuer: string;
  /** `aud`: the upstream (MCP_UPSTREAM_AUDIENCE, default its URL). */
  audience: string;
  /** MCP_UPSTREAM_JWT_KEY_FILE: a PKCS#8 PEM P-256 key; unset = a new key at each start. */
  keyFile?: string | undefined;
  now?: () => number;
}

/**
 * The upstream JWT signer. Instead of the client's token (never passed through: its audience is
 * us) the upstream gets our own statement of who calls, which it can verify against our JWKS
 * rather than trust a header. A key generated at start is enough for one instance (upstreams
 * refetch the JWKS on an unknown kid); several instances behind one URL need the same key file.
 */
export async function createUpstreamJwt(options: UpstreamJwtOptions): Promise<UpstreamJwt> {
  const now = options.now ?? Date.now;
  let privateKey: CryptoKey;
  let publicJwk: JWK;
  if (options.keyFile === undefined) {
    const pair = await generateKeyPair(ALG);
    privateKey = pair.privateKey;
    publicJwk = await exportJWK(pair.publicKey);
  } else {
    privateKey = await importPKCS8(await readFile(options.keyFile, 'utf8'), ALG, { extractable: true });
    const { kty, crv, x, y } = await exportJWK(privateKey);
    // Never `d`: only the public half is published.
    publicJwk = { kty, crv, x, y } as JWK;
  }
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    jwks: { keys: [{ ...publicJwk, kid, alg: ALG, use: 'sig' }] },
    sign(identity) {
      const iat = Math.floor(now() / 1000);
      return new SignJWT({ client_id: identity.clientId, scope: identity.scopes.join(' '), roles: [...identity.roles] })
        .setProtectedHeader({ alg: ALG, kid, typ: 'JWT' })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setSubject(identity.subject)
        .setIssuedAt(iat)
        .setExpirationTime(iat + UPSTREAM_JWT_TTL_SEC)
        .setJti(randomUUID())
        .sign(privateKey);
    },
  };
}
