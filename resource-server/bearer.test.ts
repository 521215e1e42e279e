import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createPublicKey } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBearerVerifier } from './bearer.ts';
import { startTestIssuer, type TestIssuer } from './testing/test-issuer.ts';

/** The audience of the tokens the injected-clock test verifies directly. */
const RESOURCE_FOR_CLOCK = 'http://localhost:3001/mcp';
import { INITIALIZE, MCP_POST_HEADERS, startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

let issuer: TestIssuer;
let rs: RunningResourceServer;

beforeAll(async () => {
  issuer = await startTestIssuer();
  // Cooldown 0 so a rotated key is picked up at once; tolerance stays the production 30 s.
  rs = await startResourceServer({ AUTH_ISSUER: issuer.url, RS_JWKS_COOLDOWN_MS: '0', MCP_STATELESS: '1' });
});
afterAll(async () => {
  await rs.close();
  await issuer.close();
});

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function post(authorization?: string, path = '/mcp') {
  return fetch(`${rs.url}${path}`, {
    method: 'POST',
    headers: { ...MCP_POST_HEADERS, ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(INITIALIZE),
  });
}

function valid(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) {
  return issuer.mint({ claims: { aud: rs.mcpUrl, ...claims }, header });
}

async function expectInvalidToken(response: Response) {
  expect(response.status).toBe(401);
  const challenge = response.headers.get('www-authenticate') ?? '';
  expect(challenge).toMatch(/^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="/);
  expect(challenge).toContain(`resource_metadata="http://127.0.0.1:${new URL(rs.mcpUrl).port}/.well-known/oauth-protected-resource/mcp"`);
  expect(((await response.json()) as { error: string }).error).toBe('invalid_token');
}

describe('RFC 6750 / RFC 9068 bearer verification', () => {
  it('answers a request without a token with 401 and a challenge naming the metadata and scope, without an error code', async () => {
    const response = await post();
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${new URL('/.well-known/oauth-protected-resource/mcp', rs.mcpUrl).href}", scope="mcp:tools"`,
    );
  });

  it('accepts a valid ES256 access token', async () => {
    const response = await post(`Bearer ${await valid()}`);
    expect(response.status).toBe(200);
  });

  it('accepts an aud array that contains the resource URL, and the scheme name in any case', async () => {
    const response = await post(`bearer ${await valid({ aud: ['https://other.example/api', rs.mcpUrl] })}`);
    expect(response.status).toBe(200);
  });

  it('accepts typ application/at+jwt (RFC 9068 §2.1)', async () => {
    expect((await post(`Bearer ${await valid({}, { typ: 'application/at+jwt' })}`)).status).toBe(200);
  });

  it('rejects a garbage token', async () => {
    await expectInvalidToken(await post('Bearer not-a-jwt'));
  });

  it('rejects a malformed Authorization header', async () => {
    await expectInvalidToken(await post('Basic dXNlcjpwYXNz'));
  });

  it('rejects alg none', async () => {
    const claims = {
      iss: issuer.url,
      sub: 'u',
      aud: rs.mcpUrl,
      exp: now() + 300,
      iat: now(),
      jti: 'j',
      client_id: 'c',
      scope: 'mcp:tools',
    };
    await expectInvalidToken(await post(`Bearer ${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`));
  });

  it('rejects HS256 signed with the public key (algorithm confusion)', async () => {
    const jwks = (await (await fetch(issuer.jwksUrl)).json()) as { keys: [{ kid: string }] };
    const jwk = jwks.keys[0];
    const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const secret = await importJWK({ kty: 'oct', k: Buffer.from(pem).toString('base64url') }, 'HS256');
    const token = await new SignJWT({ client_id: 'c', scope: 'mcp:tools' })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: jwk.kid })
      .setIssuer(issuer.url)
      .setSubject('u')
      .setAudience(rs.mcpUrl)
      .setIssuedAt()
      .setExpirationTime('5m')
      .setJti('j')
      .sign(secret);
    await expectInvalidToken(await post(`Bearer ${token}`));
  });

  it('rejects a token from another issuer', async () => {
    await expectInvalidToken(await post(`Bearer ${await valid({ iss: 'http://127.0.0.1:1/evil' })}`));
  });

  it('rejects a token whose aud is another resource', async () => {
    await expectInvalidToken(await post(`Bearer ${await valid({ aud: 'http://127.0.0.1:1/mcp' })}`));
  });

  it('rejects a token whose aud is our URL with a trailing slash (exact match)', async () => {
    await expectInvalidToken(await post(`Bearer ${await valid({ aud: `${rs.mcpUrl}/` })}`));
  });

  it('rejects an expired token (beyond the 30 s tolerance)', async () => {
    await expectInvalidToken(await post(`Bearer ${await valid({ exp: now() - 31, iat: now() - 400 })}`));
  });

  it('rejects a token whose nbf is in the future', async () => {
    await expectInvalidToken(await post(`Bearer ${await valid({ nbf: now() + 120 })}`));
  });

  it('rejects a token whose typ is not at+jwt (e.g. an ID token)', async () => {
    await expectInvalidToken(await post(`Bearer ${await valid({}, { typ: 'JWT' })}`));
    await expectInvalidToken(await post(`Bearer ${await valid({}, { typ: undefined })}`));
  });

  it('rejects a token without the RFC 9068 client_id claim', async () => {
    await expectInvalidToken(await post(`Bearer ${await valid({ client_id: undefined })}`));
  });

  it('rejects a token signed by a key the issuer does not publish (unknown kid)', async () => {
    await expectInvalidToken(await post(`Bearer ${await issuer.mint({ claims: { aud: rs.mcpUrl }, unpublishedKid: 'stranger' })}`));
  });

  it('rejects a tampered payload (signature check)', async () => {
    const [h, , s] = (await valid()).split('.');
    const forged = b64({
      iss: issuer.url,
      sub: 'admin',
      aud: rs.mcpUrl,
      exp: now() + 300,
      iat: now(),
      jti: 'j',
      client_id: 'c',
      scope: 'mcp:tools mcp:admin',
    });
    await expectInvalidToken(await post(`Bearer ${h}.${forged}.${s}`));
  });

  it('rejects a token in the query string, even a valid one (header only)', async () => {
    await expectInvalidToken(await post(undefined, `/mcp?access_token=${await valid()}`));
  });

  it('fetches the JWKS once for many requests and once more on a new kid', async () => {
    await post(`Bearer ${await valid()}`);
    const before = issuer.jwksFetches();
    // Distinct tokens (fresh jti), so the verification cache does not hide the key lookups.
    const responses = await Promise.all(Array.from({ length: 20 }, async () => post(`Bearer ${await valid()}`)));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(issuer.jwksFetches()).toBe(before);
    await issuer.rotate('RS256');
    expect((await post(`Bearer ${await valid()}`)).status).toBe(200);
    expect(issuer.jwksFetches()).toBe(before + 1);
  });
});

describe('signing keys come from the issuer only (RFC 8414 metadata could be poisoned)', () => {
  const send = (server: RunningResourceServer, token: string) =>
    fetch(server.mcpUrl, {
      method: 'POST',
      headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${token}` },
      body: JSON.stringify(INITIALIZE),
    });

  it('refuses tokens when the issuer metadata names a jwks_uri on another origin, and logs the refused URL', async () => {
    const attacker = await startTestIssuer();
    const poisoned = await startTestIssuer({ jwksUri: attacker.jwksUrl });
    const downstream = await startResourceServer({ AUTH_ISSUER: poisoned.url, MCP_STATELESS: '1' }, { captureLogs: true });
    try {
      // Signed with the attacker's key, claiming to come from the real issuer.
      const forged = await attacker.mint({ claims: { iss: poisoned.url, aud: downstream.mcpUrl } });
      const response = await send(downstream, forged);
      // No trusted keys to check with: 503 (the server's problem), not a verdict on the token.
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBeTruthy();
      expect(attacker.jwksFetches()).toBe(0);
      const refusal = downstream.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.jwks_uri === attacker.jwksUrl);
      expect(refusal).toMatchObject({ level: 50, issuer: poisoned.url });
      expect(String(refusal?.msg)).toMatch(/not on the issuer's origin/);
      expect(String(refusal?.msg)).toContain('AUTH_JWKS_URL');
    } finally {
      await downstream.close();
      await poisoned.close();
      await attacker.close();
    }
  });

  it("fetches keys from another origin when AUTH_JWKS_URL names it (an operator's choice, not the metadata's)", async () => {
    const keyHost = await startTestIssuer();
    const other = await startTestIssuer({ jwksUri: 'http://127.0.0.1:1/never-fetched' });
    const downstream = await startResourceServer({ AUTH_ISSUER: other.url, AUTH_JWKS_URL: keyHost.jwksUrl, MCP_STATELESS: '1' });
    try {
      expect((await send(downstream, await keyHost.mint({ claims: { iss: other.url, aud: downstream.mcpUrl } }))).status).toBe(200);
    } finally {
      await downstream.close();
      await other.close();
      await keyHost.close();
    }
  });
});

describe('verification cache', () => {
  it('never serves a cached verification past the token exp', async () => {
    // An injected clock instead of a sleep: the token is good for 60 s, then the clock moves past it.
    let clock = Date.now();
    const verify = createBearerVerifier({ issuer: issuer.url, audience: RESOURCE_FOR_CLOCK, clockToleranceSec: 0, now: () => clock });
    const token = await issuer.mint({ claims: { aud: RESOURCE_FOR_CLOCK, exp: Math.floor(clock / 1000) + 60 } });
    const request = { authorization: `Bearer ${token}`, dpop: undefined, method: 'POST', url: RESOURCE_FOR_CLOCK };
    expect((await verify(request)).extra?.sub).toBeTypeOf('string');
    expect((await verify(request)).extra?.sub, 'served from the cache before exp').toBeTypeOf('string');
    clock += 61_000;
    await expect(verify(request)).rejects.toMatchObject({ status: 401, challenge: { error: 'invalid_token' } });
  });

  it('serves only the exact header it verified: a forged token ending in the same signature is refused while the real one is cached', async () => {
    const token = await valid({ sub: 'user-bob', scope: 'mcp:tools' });
    const [header, , signature] = token.split('.');
    const forged = `${header}.${b64({ ...decodeClaims(token), sub: 'user-alice', scope: 'mcp:tools mcp:admin' })}.${signature}`;
    expect((await post(`Bearer ${token}`)).status, 'verified and cached').toBe(200);
    await expectInvalidToken(await post(`Bearer ${forged}`));
    // The same token with the scheme spelled differently is a different header: verified on its own, and good.
    expect((await post(`bearer ${token}`)).status).toBe(200);
    expect((await post(`Bearer ${token}`)).status, 'still served from the cache').toBe(200);
  });
});

function decodeClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('an unreachable authorization server', () => {
  let blackHole: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // Accepts connections and never answers: the worst case for a fetch.
    blackHole = createTcpServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => blackHole.close(resolve));
  });

  it('answers 503 with Retry-After in under a second when the issuer never responds (the token may be good: no 401)', async () => {
    const hole = `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}`;
    const lonely = await startResourceServer({ AUTH_ISSUER: hole, RS_JWKS_COOLDOWN_MS: '5000' }, { captureLogs: true });
    try {
      const token = await issuer.mint({ claims: { iss: hole, aud: lonely.mcpUrl } });
      const started = performance.now();
      const response = await fetch(lonely.mcpUrl, {
        method: 'POST',
        headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${token}` },
        body: '{}',
      });
      expect(performance.now() - started).toBeLessThan(1000);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(response.headers.get('www-authenticate')).toBeNull();
      expect(await response.json()).toMatchObject({
        error: 'temporarily_unavailable',
        error_description: expect.stringContaining('retry later'),
      });
      // The log says what could not be fetched, and why.
      const line = lonely.logs.map((l) => JSON.parse(l) as Record<string, any>).find((l) => l.event === 'token.unverifiable');
      expect(line).toMatchObject({ level: 40, status: 503, url: `${hole}/.well-known/oauth-authorization-server` });
      expect(line?.err?.message).toBeTruthy();
    } finally {
      await lonely.close();
    }
  });

  it('answers 503 naming the JWKS URL and the cause when AUTH_JWKS_URL cannot be fetched (refused, or not 200)', async () => {
    const gone = await startTestIssuer();
    const deadJwks = `${gone.url}/jwks`;
    await gone.close();
    const broken = await startResourceServer({ AUTH_ISSUER: issuer.url, AUTH_JWKS_URL: deadJwks }, { captureLogs: true });
    const notFound = await startResourceServer(
      { AUTH_ISSUER: issuer.url, AUTH_JWKS_URL: `${issuer.url}/no-such-jwks` },
      { captureLogs: true },
    );
    try {
      for (const [server, cause] of [
        [broken, /fetch failed/],
        [notFound, /answered 404/],
      ] as const) {
        const token = await issuer.mint({ claims: { aud: server.mcpUrl } });
        const response = await fetch(server.mcpUrl, {
          method: 'POST',
          headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${token}` },
          body: JSON.stringify(INITIALIZE),
        });
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toBeTruthy();
        const line = server.logs.map((l) => JSON.parse(l) as Record<string, any>).find((l) => l.event === 'token.unverifiable');
        expect(line).toMatchObject({ url: server === broken ? deadJwks : `${issuer.url}/no-such-jwks` });
        expect(String(line?.err?.message)).toMatch(cause);
      }
    } finally {
      await broken.close();
      await notFound.close();
    }
  });

  it('answers 503 quickly for an unknown kid when the JWKS refetch fails (the auth server went down): it may be a key rotated in meanwhile', async () => {
    const own = await startTestIssuer();
    const downstream = await startResourceServer({ AUTH_ISSUER: own.url, RS_JWKS_COOLDOWN_MS: '0' });
    try {
      const ok = await own.mint({ claims: { aud: downstream.mcpUrl } });
      const send = (token: string) =>
        fetch(downstream.mcpUrl, {
          method: 'POST',
          headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${token}` },
          body: JSON.stringify(INITIALIZE),
        });
      expect((await send(ok)).status).toBe(200);
      const stranger = await own.mint({ claims: { aud: downstream.mcpUrl }, unpublishedKid: 'rotated-while-down' });
      await own.close();
      const started = performance.now();
      const response = await send(stranger);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBeTruthy();
      // Known keys keep working while the auth server is down.
      expect((await send(await own.mint({ claims: { aud: downstream.mcpUrl } }))).status).toBe(200);
    } finally {
      await downstream.close();
    }
  });

  it('uses AUTH_JWKS_URL directly when the issuer URL itself is not reachable', async () => {
    const split = await startResourceServer({ AUTH_ISSUER: 'http://issuer.invalid', AUTH_JWKS_URL: issuer.jwksUrl });
    try {
      const token = await issuer.mint({ claims: { iss: 'http://issuer.invalid', aud: split.mcpUrl } });
      const response = await fetch(split.mcpUrl, {
        method: 'POST',
        headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${token}` },
        body: JSON.stringify(INITIALIZE),
      });
      expect(response.status).toBe(200);
    } finally {
      await split.close();
    }
  });
});
