import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/** What an ID-JAG needs besides its claims; everything can be overridden to build a bad one. */
export interface IdJagOptions {
  audience: string;
  clientId: string;
  resource: string;
  /** Extra or replacing claims (`sub`, `scope`, `email`, `groups`, …). */
  claims?: JWTPayload;
  typ?: string;
  iat?: number;
  exp?: number;
  /** Sign with another IdP's key while keeping this IdP's iss and kid (a forgery). */
  signWith?: TestIdp;
}

/** A test enterprise IdP: a key the test controls, its JWKS and OpenID metadata on loopback. */
export interface TestIdp {
  issuer: string;
  kid: string;
  key: CryptoKey;
  /** An ID-JAG as the extension's §4.3 example (scope mcp:tools, 5 minutes), signed by this IdP. */
  idJag(options: IdJagOptions): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts a test IdP on a free loopback port: `/jwks` and `/.well-known/openid-configuration`.
 *
 * @example
 * const idp = await startTestIdp();
 * const assertion = await idp.idJag({ audience: server.url, clientId, resource: RESOURCE });
 */
export async function startTestIdp(): Promise<TestIdp> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = randomUUID();
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  let issuer = '';
  const server = createServer((req, res) => {
    const json = (body: unknown) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    };
    if (req.url === '/jwks') return json({ keys: [jwk] });
    if (req.url === '/.well-known/openid-configuration') return json({ issuer, jwks_uri: `${issuer}/jwks` });
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const idp: TestIdp = {
    issuer,
    kid,
    key: privateKey,
    async idJag(options) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        resource: options.resource,
        client_id: options.clientId,
        scope: 'mcp:tools',
        email: 'dana@corp.example',
        preferred_username: 'dana',
        ...options.claims,
      })
        .setProtectedHeader({ alg: 'ES256', kid, typ: options.typ ?? 'oauth-id-jag+jwt' })
        .setIssuer(issuer)
        .setSubject((options.claims?.sub as string | undefined) ?? 'U019488227')
        .setAudience(options.audience)
        .setJti(randomUUID())
        .setIssuedAt(options.iat ?? now)
        .setExpirationTime(options.exp ?? now + 300)
        .sign(options.signWith?.key ?? privateKey);
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return idp;
}
