import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateSigningKeys } from '../auth-server/keys/signing-keys.ts';
import {
  addUser,
  freePort,
  loginAndGetTokens,
  registerPublicClient,
  startAuthServer,
  type TestAuthServer,
} from '../auth-server/testing/harness.ts';
import { MCP_POST_HEADERS, startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

/** Behind a load balancer both instances answer for one public resource URL. */
let publicResource: string;
let auth: TestAuthServer;
let a: RunningResourceServer;
let b: RunningResourceServer;
let client: { client_id: string; redirect_uris: string[] };

beforeAll(async () => {
  publicResource = `http://127.0.0.1:${await freePort()}/mcp`;
  auth = await startAuthServer({ RS_RESOURCE_URL: publicResource });
  await addUser(auth);
  client = await registerPublicClient(auth);
  const env = { RS_RESOURCE_URL: publicResource, AUTH_ISSUER: auth.url, MCP_STATELESS: '1', RS_JWKS_COOLDOWN_MS: '200' };
  [a, b] = await Promise.all([startResourceServer(env), startResourceServer(env)]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await auth?.close();
});

const token = async () =>
  (await loginAndGetTokens(auth, { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, resource: publicResource })).tokens
    .access_token;

/** One JSON-RPC call to an instance's own address (the load balancer's job, done by hand). */
async function call(instance: RunningResourceServer, accessToken: string, method: string, params: unknown, id: number) {
  const response = await fetch(`${instance.url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${accessToken}`, 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
  });
  const text = await response.text();
  const json = text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? '{}');
  return { status: response.status, body: JSON.parse(json) as { result?: any; error?: unknown } };
}

describe('scale-out: stateless resource servers and the auth server', () => {
  it('requests alternating between two stateless instances all succeed', async () => {
    const accessToken = await token();
    const init = { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'lb-test', version: '1' } };
    for (let i = 0; i < 12; i++) {
      const instance = i % 2 === 0 ? a : b;
      const step = i % 3;
      const result =
        step === 0
          ? await call(instance, accessToken, 'initialize', init, i)
          : step === 1
            ? await call(instance, accessToken, 'tools/list', {}, i)
            : await call(instance, accessToken, 'tools/call', { name: 'greet', arguments: { name: `n${i}` } }, i);
      expect(result.status, `request ${i} on ${instance === a ? 'A' : 'B'}`).toBe(200);
      expect(result.body.error).toBeUndefined();
      if (step === 2) expect(result.body.result.content[0].text).toMatch(new RegExp(`^Hello, n${i}!`));
    }
  });

  it('keeps accepting valid tokens while the auth server is down, and answers an unknown kid 503 (keys unreachable) within a second', async () => {
    const warm = await token();
    const unseen = await token(); // never shown to the resource servers before the outage
    expect((await call(a, warm, 'tools/list', {}, 1)).status).toBe(200);
    await auth.stop();
    try {
      expect((await call(a, unseen, 'tools/list', {}, 2)).status).toBe(200);
      const stranger = await generateKeyPair('ES256');
      const forged = await new SignJWT({ scope: 'mcp:tools', client_id: 'x' })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'not-published' })
        .setIssuer(auth.url)
        .setAudience(publicResource)
        .setSubject('x')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(stranger.privateKey);
      // Past b's refetch cooldown, an unknown kid makes it refetch the JWKS, which fails: the key
      // may have been rotated in while the auth server is down, so 503, not 401 (which would make
      // a client drop a good token). A JWKS that is up but lacks the kid stays 401 (bearer.test.ts).
      await new Promise((resolve) => setTimeout(resolve, 250));
      const started = performance.now();
      const refused = await call(b, forged, 'tools/list', {}, 3);
      expect(refused.status).toBe(503);
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      auth = await startAuthServer({ AUTH_PORT: String(auth.config.port), RS_RESOURCE_URL: publicResource }, { dir: auth.dir });
    }
  });

  it('after a key rotation, old tokens keep verifying and the new kid is picked up without a restart', async () => {
    const before = await token();
    expect((await call(a, before, 'tools/list', {}, 1)).status).toBe(200);
    await rotateSigningKeys(auth.signingKeys, { actor: 'test', force: true });
    await auth.stop();
    auth = await startAuthServer({ AUTH_PORT: String(auth.config.port), RS_RESOURCE_URL: publicResource }, { dir: auth.dir });
    await new Promise((resolve) => setTimeout(resolve, 250)); // the refetch cooldown of this test
    const after = await token();
    expect(JSON.parse(Buffer.from(after.split('.')[0]!, 'base64url').toString()).kid).not.toBe(
      JSON.parse(Buffer.from(before.split('.')[0]!, 'base64url').toString()).kid,
    );
    expect((await call(a, after, 'tools/list', {}, 2)).status).toBe(200);
    expect((await call(b, after, 'tools/list', {}, 3)).status).toBe(200);
    expect((await call(b, before, 'tools/list', {}, 4)).status).toBe(200);
  });
});
