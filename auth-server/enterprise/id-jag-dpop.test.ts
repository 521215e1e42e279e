import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../common/free-port.ts';
import {
  INITIALIZE,
  MCP_POST_HEADERS,
  startResourceServer,
  type RunningResourceServer,
} from '../../resource-server/testing/test-server.ts';
import { postForm, postJson, startAuthServer, type TestAuthServer } from '../testing/harness.ts';
import { startTestIdp, type TestIdp } from '../testing/test-idp.ts';

/** RFC 9449 for the ID-JAG jwt-bearer grant: the access token bound to the client's DPoP key. */

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

let dir: string;
let idp: TestIdp;
let auth: TestAuthServer;
let rs: RunningResourceServer;
let key: { privateKey: CryptoKey; jwk: JWK };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'id-jag-dpop-'));
  idp = await startTestIdp();
  const port = await freePort();
  const resource = `http://127.0.0.1:${port}/mcp`;
  const file = join(dir, 'trusted-idps.json');
  await writeFile(file, JSON.stringify([{ issuer: idp.issuer, clients: '*', resources: [resource] }]));
  auth = await startAuthServer({ RS_RESOURCE_URL: resource, AUTH_TRUSTED_IDPS: file });
  rs = await startResourceServer({ RS_PORT: String(port), RS_RESOURCE_URL: resource, AUTH_ISSUER: auth.url });
  const pair = await generateKeyPair('ES256');
  key = { privateKey: pair.privateKey, jwk: await exportJWK(pair.publicKey) };
});
afterAll(async () => {
  await rs?.close();
  await auth?.close();
  await idp?.close();
  await rm(dir, { recursive: true, force: true });
});

/** An RFC 9449 proof for one request, optionally bound to an access token (ath). */
function proof(method: string, url: string, options: { accessToken?: string; jti?: string } = {}) {
  const claims: Record<string, unknown> = { htm: method, htu: url, jti: options.jti ?? randomUUID() };
  if (options.accessToken) claims.ath = createHash('sha256').update(options.accessToken).digest('base64url');
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk }).setIssuedAt().sign(key.privateKey);
}

async function agent(metadata: Record<string, unknown> = {}) {
  const registration = await postJson(`${auth.url}/reg`, {
    client_name: 'Enterprise agent',
    grant_types: [JWT_BEARER],
    token_endpoint_auth_method: 'client_secret_post',
    ...metadata,
  });
  expect(registration.status).toBe(201);
  return (await registration.json()) as { client_id: string; client_secret: string };
}

function redeem(machine: { client_id: string; client_secret: string }, assertion: string, headers: Record<string, string> = {}) {
  return postForm(
    `${auth.url}/token`,
    { grant_type: JWT_BEARER, assertion, client_id: machine.client_id, client_secret: machine.client_secret },
    headers,
  );
}

const initialize = (headers: Record<string, string>) =>
  fetch(rs.mcpUrl, { method: 'POST', headers: { ...MCP_POST_HEADERS, ...headers }, body: JSON.stringify(INITIALIZE) });

describe('DPoP-bound access tokens from an ID-JAG', () => {
  it('with a proof, the token is bound to its key, and the MCP server takes it only with a proof of that key', async () => {
    const machine = await agent();
    const assertion = await idp.idJag({ audience: auth.url, clientId: machine.client_id, resource: rs.mcpUrl });
    const response = await redeem(machine, assertion, { dpop: await proof('POST', `${auth.url}/token`) });
    const tokens = (await response.json()) as { access_token: string; token_type: string };
    expect(response.status, JSON.stringify(tokens)).toBe(200);
    expect(tokens.token_type).toBe('DPoP');
    const payload = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()) as { cnf?: { jkt?: string } };
    expect(payload.cnf?.jkt).toBe(await calculateJwkThumbprint(key.jwk));

    const ok = await initialize({
      authorization: `DPoP ${tokens.access_token}`,
      dpop: await proof('POST', rs.mcpUrl, { accessToken: tokens.access_token }),
    });
    expect(ok.status).toBe(200);
    await ok.body?.cancel();

    const asBearer = await initialize({ authorization: `Bearer ${tokens.access_token}` });
    expect(asBearer.status).toBe(401);
    await asBearer.body?.cancel();
    const noProof = await initialize({ authorization: `DPoP ${tokens.access_token}` });
    expect(noProof.status).toBe(401);
    expect(noProof.headers.get('www-authenticate')).toMatch(/^DPoP .*error="invalid_dpop_proof"/);
    await noProof.body?.cancel();
    const otherKey = await generateKeyPair('ES256');
    const foreign = await new SignJWT({
      htm: 'POST',
      htu: rs.mcpUrl,
      jti: randomUUID(),
      ath: createHash('sha256').update(tokens.access_token).digest('base64url'),
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(otherKey.publicKey) })
      .setIssuedAt()
      .sign(otherKey.privateKey);
    const wrongKey = await initialize({ authorization: `DPoP ${tokens.access_token}`, dpop: foreign });
    expect(wrongKey.status).toBe(401);
    await wrongKey.body?.cancel();
  });

  it('without a proof, a Bearer token as before', async () => {
    const machine = await agent();
    const assertion = await idp.idJag({ audience: auth.url, clientId: machine.client_id, resource: rs.mcpUrl });
    const tokens = (await (await redeem(machine, assertion)).json()) as { access_token: string; token_type: string };
    expect(tokens.token_type).toBe('Bearer');
    const ok = await initialize({ authorization: `Bearer ${tokens.access_token}` });
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
  });

  it('refuses a bad proof (wrong htu, not a JWT) without spending the ID-JAG', async () => {
    const machine = await agent();
    const assertion = await idp.idJag({ audience: auth.url, clientId: machine.client_id, resource: rs.mcpUrl });
    for (const dpop of [await proof('POST', `${rs.mcpUrl}`), await proof('GET', `${auth.url}/token`), 'not a jwt']) {
      const refused = await redeem(machine, assertion, { dpop });
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ error: 'invalid_dpop_proof' });
    }
    expect((await redeem(machine, assertion, { dpop: await proof('POST', `${auth.url}/token`) })).status).toBe(200);
  });

  it('refuses a replayed proof without spending the ID-JAG', async () => {
    const machine = await agent();
    const jti = randomUUID();
    const first = await idp.idJag({ audience: auth.url, clientId: machine.client_id, resource: rs.mcpUrl });
    expect((await redeem(machine, first, { dpop: await proof('POST', `${auth.url}/token`, { jti }) })).status).toBe(200);
    const second = await idp.idJag({ audience: auth.url, clientId: machine.client_id, resource: rs.mcpUrl });
    const replayed = await redeem(machine, second, { dpop: await proof('POST', `${auth.url}/token`, { jti }) });
    expect(replayed.status).toBe(400);
    expect(await replayed.json()).toMatchObject({ error: 'invalid_grant', error_description: 'grant request is invalid' });
    expect((await redeem(machine, second, { dpop: await proof('POST', `${auth.url}/token`) })).status).toBe(200);
  });

  it('a client registered with dpop_bound_access_tokens gets no token without a proof', async () => {
    const machine = await agent({ dpop_bound_access_tokens: true });
    const assertion = await idp.idJag({ audience: auth.url, clientId: machine.client_id, resource: rs.mcpUrl });
    const refused = await redeem(machine, assertion);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_grant' });
    const bound = await redeem(machine, assertion, { dpop: await proof('POST', `${auth.url}/token`) });
    expect(((await bound.json()) as { token_type: string }).token_type).toBe('DPoP');
  });
});
