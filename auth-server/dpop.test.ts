import { createHash, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INITIALIZE, MCP_POST_HEADERS, startResourceServer, type RunningResourceServer } from '../resource-server/testing/test-server.ts';
import { Writable } from 'node:stream';
import { runClientsCli } from './cli/clients.ts';
import { addUser, authorize, freePort, postForm, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

let auth: TestAuthServer;
let rs: RunningResourceServer;
let key: { privateKey: CryptoKey; jwk: JWK };

beforeAll(async () => {
  const [authPort, rsPort] = [await freePort(), await freePort()];
  const resource = `http://127.0.0.1:${rsPort}/mcp`;
  auth = await startAuthServer({ AUTH_PORT: String(authPort), RS_RESOURCE_URL: resource });
  rs = await startResourceServer({ RS_PORT: String(rsPort), RS_RESOURCE_URL: resource, AUTH_ISSUER: auth.url });
  await addUser(auth);
  const pair = await generateKeyPair('ES256');
  key = { privateKey: pair.privateKey, jwk: await exportJWK(pair.publicKey) };
});
afterAll(async () => {
  await rs?.close();
  await auth?.close();
});

/** An RFC 9449 proof for one request, optionally bound to an access token (ath). */
function proof(method: string, url: string, accessToken?: string) {
  const claims: Record<string, unknown> = { htm: method, htu: url, jti: randomUUID() };
  if (accessToken) claims.ath = createHash('sha256').update(accessToken).digest('base64url');
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk }).setIssuedAt().sign(key.privateKey);
}

describe('DPoP (RFC 9449) across both servers', () => {
  it('the auth server binds tokens to the client key and the resource server accepts them only with a proof', async () => {
    const client = await registerPublicClient(auth);
    const { callback, verifier } = await authorize(auth, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      resource: rs.mcpUrl,
    });
    const tokenUrl = `${auth.url}/token`;
    const response = await postForm(
      tokenUrl,
      {
        grant_type: 'authorization_code',
        code: callback!.searchParams.get('code')!,
        redirect_uri: client.redirect_uris[0]!,
        client_id: client.client_id,
        code_verifier: verifier,
        resource: rs.mcpUrl,
      },
      { dpop: await proof('POST', tokenUrl) },
    );
    expect(response.status).toBe(200);
    const tokens = (await response.json()) as { access_token: string; token_type: string; refresh_token: string };
    expect(tokens.token_type).toBe('DPoP');
    const payload = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()) as { cnf?: { jkt?: string } };
    expect(payload.cnf?.jkt).toBeTypeOf('string');

    const call = async (headers: Record<string, string>) =>
      fetch(rs.mcpUrl, { method: 'POST', headers: { ...MCP_POST_HEADERS, ...headers }, body: JSON.stringify(INITIALIZE) });
    const ok = await call({ authorization: `DPoP ${tokens.access_token}`, dpop: await proof('POST', rs.mcpUrl, tokens.access_token) });
    expect(ok.status).toBe(200);
    await ok.body?.cancel();

    const asBearer = await call({ authorization: `Bearer ${tokens.access_token}` });
    expect(asBearer.status).toBe(401);
    const noProof = await call({ authorization: `DPoP ${tokens.access_token}` });
    expect(noProof.status).toBe(401);
    expect(noProof.headers.get('www-authenticate')).toMatch(/^DPoP .*error="invalid_dpop_proof"/);

    // The refresh token is bound too: refreshing needs a proof with the same key.
    const unbound = await postForm(tokenUrl, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      client_id: client.client_id,
    });
    expect(unbound.status).toBe(400);
    const refreshed = await postForm(
      tokenUrl,
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id },
      { dpop: await proof('POST', tokenUrl) },
    );
    expect(refreshed.status).toBe(200);
  });

  it('a plain bearer token from the real auth server works at the real resource server', async () => {
    const client = await registerPublicClient(auth);
    const { callback, verifier } = await authorize(auth, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      resource: rs.mcpUrl,
    });
    const response = await postForm(`${auth.url}/token`, {
      grant_type: 'authorization_code',
      code: callback!.searchParams.get('code')!,
      redirect_uri: client.redirect_uris[0]!,
      client_id: client.client_id,
      code_verifier: verifier,
      resource: rs.mcpUrl,
    });
    const { access_token } = (await response.json()) as { access_token: string };
    const ok = await fetch(rs.mcpUrl, {
      method: 'POST',
      headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${access_token}` },
      body: JSON.stringify(INITIALIZE),
    });
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
  });

  it('a client_credentials token sent with a proof is bound too: the resource server refuses it as a plain Bearer', async () => {
    let stdout = '';
    const sink = (append: (s: string) => void) =>
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          append(chunk.toString());
          done();
        },
      });
    const code = await runClientsCli(
      ['add', '--name', 'dpop machine', '--grant', 'client_credentials', '--secret', '--scope', 'mcp:tools', '--json'],
      { stdout: sink((s) => (stdout += s)), stderr: sink(() => {}), env: { DATA_DIR: auth.config.dataDir } },
    );
    expect(code).toBe(0);
    const machine = JSON.parse(stdout) as { client_id: string; client_secret: string };
    const tokenUrl = `${auth.url}/token`;
    const response = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials', scope: 'mcp:tools', resource: rs.mcpUrl },
      {
        authorization: `Basic ${Buffer.from(`${machine.client_id}:${machine.client_secret}`).toString('base64')}`,
        dpop: await proof('POST', tokenUrl),
      },
    );
    const tokens = (await response.json()) as { access_token: string; token_type: string };
    expect(response.status, JSON.stringify(tokens)).toBe(200);
    expect(tokens.token_type).toBe('DPoP');
    const call = async (headers: Record<string, string>) =>
      fetch(rs.mcpUrl, { method: 'POST', headers: { ...MCP_POST_HEADERS, ...headers }, body: JSON.stringify(INITIALIZE) });
    const ok = await call({ authorization: `DPoP ${tokens.access_token}`, dpop: await proof('POST', rs.mcpUrl, tokens.access_token) });
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
    const asBearer = await call({ authorization: `Bearer ${tokens.access_token}` });
    expect(asBearer.status).toBe(401);
    await asBearer.body?.cancel();
  });
});
