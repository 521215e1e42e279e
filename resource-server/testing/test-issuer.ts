import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface TestIssuer {
  /** http://127.0.0.1:<port>: the `iss` of minted tokens. */
  url: string;
  jwksUrl: string;
  /** How many times the JWKS was served. */
  jwksFetches(): number;
  /** Adds a new signing key to the JWKS (a key rotation) and makes it the default; returns its kid. */
  rotate(alg?: 'ES256' | 'RS256'): Promise<string>;
  /** Signs an RFC 9068 access token; every claim and header field can be overridden (undefined removes it). */
  mint(options?: MintOptions): Promise<string>;
  close(): Promise<void>;
}

export interface MintOptions {
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
  /** Sign with a key the JWKS does not publish (with the given kid). */
  unpublishedKid?: string;
}

interface SigningKey {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface TestIssuerOptions {
  /** The `jwks_uri` its metadata names (default: its own /jwks), e.g. to play a poisoned metadata cache. */
  jwksUri?: string;
}

/**
 * A stand-in for the auth server over loopback: RFC 8414 metadata and a JWKS from a test key
 * pair, and a way to mint access tokens shaped like the real ones. Real HTTP, real signatures.
 *
 * @example
 * const issuer = await startTestIssuer();
 * const token = await issuer.mint({ claims: { aud: resourceUrl, scope: 'mcp:tools' } });
 */
export async function startTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const keys: SigningKey[] = [];
  let fetches = 0;
  const server: Server = createServer((req, res) => {
    if (req.url === '/.well-known/oauth-authorization-server') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ issuer: url, jwks_uri: options.jwksUri ?? `${url}/jwks` }));
    } else if (req.url === '/jwks') {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: keys.map((k) => k.publicJwk) }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function newKey(kid: string, alg: 'ES256' | 'RS256'): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
  }
  keys.push(await newKey('key-1', 'ES256'));

  return {
    url,
    jwksUrl: `${url}/jwks`,
    jwksFetches: () => fetches,
    async rotate(alg = 'ES256') {
      const key = await newKey(`key-${keys.length + 1}`, alg);
      keys.unshift(key);
      return key.kid;
    },
    async mint(mintOptions = {}) {
      const key = mintOptions.unpublishedKid ? await newKey(mintOptions.unpublishedKid, 'ES256') : keys[0]!;
      const now = Math.floor(Date.now() / 1000);
      const claims: Record<string, unknown> = {
        iss: url,
        sub: 'user-alice',
        aud: 'http://resource.invalid/mcp',
        exp: now + 300,
        iat: now,
        jti: crypto.randomUUID(),
        client_id: 'test-client',
        scope: 'mcp:tools',
        ...mintOptions.claims,
      };
      const header: Record<string, unknown> = { alg: key.alg, typ: 'at+jwt', kid: key.kid, ...mintOptions.header };
      return new SignJWT(withoutUndefined(claims) as JWTPayload)
        .setProtectedHeader(withoutUndefined(header) as { alg: string })
        .sign(key.privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function withoutUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}
