import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { rotateSigningKeys } from './keys/signing-keys.ts';
import {
  addUser,
  loginAndGetTokens,
  postForm,
  RESOURCE,
  registerPublicClient,
  startAuthServer,
  type TestAuthServer,
} from './testing/harness.ts';

let server: TestAuthServer | undefined;
afterAll(() => server?.close());

async function restart(current: TestAuthServer, env: Record<string, string> = {}): Promise<TestAuthServer> {
  await current.stop();
  return startAuthServer({ AUTH_PORT: String(current.config.port), ...env }, { dir: current.dir });
}

const jwksOf = async (url: string) => createLocalJWKSet((await (await fetch(`${url}/jwks`)).json()) as JSONWebKeySet);

describe('restart survival', () => {
  it('keeps clients, accounts, grants and refresh tokens across a restart on the same DATA_DIR', async () => {
    server = await startAuthServer();
    await addUser(server);
    const client = await registerPublicClient(server);
    const { tokens } = await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });

    server = await restart(server);
    const refreshed = await postForm(`${server.url}/token`, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: client.client_id,
    });
    expect(refreshed.status).toBe(200);
    // The same client and account can do a whole new login.
    const again = await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
    expect(again.tokens.access_token).toBeTypeOf('string');
    // Keys were loaded, not regenerated: the token from before the restart still verifies.
    await jwtVerify(tokens.access_token, await jwksOf(server.url), { issuer: server.url, audience: RESOURCE });
  });
});

describe('key rotation', () => {
  it('signs with the new key after rotation while tokens signed with the old key keep verifying', async () => {
    server ??= await startAuthServer();
    if (!(await server.storage.accounts.findByUsername('alice'))) await addUser(server);
    const client = await registerPublicClient(server);
    const before = await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
    const oldKid = decodeProtectedHeader(before.tokens.access_token).kid;

    const { activated } = await rotateSigningKeys(server.signingKeys, { actor: 'test', force: true });
    const newEcKid = activated[0];
    server = await restart(server);

    const jwks = await jwksOf(server.url);
    await jwtVerify(before.tokens.access_token, jwks, { issuer: server.url, audience: RESOURCE });
    const after = await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
    const newKid = decodeProtectedHeader(after.tokens.access_token).kid;
    expect(newKid).toBe(newEcKid);
    expect(newKid).not.toBe(oldKid);
    await jwtVerify(after.tokens.access_token, jwks, { issuer: server.url, audience: RESOURCE });
  });
});
