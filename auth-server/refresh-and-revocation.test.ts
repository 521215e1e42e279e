import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addUser,
  authorize,
  loginAndGetTokens,
  postForm,
  postJson,
  RESOURCE,
  registerPublicClient,
  startAuthServer,
  type TestAuthServer,
} from './testing/harness.ts';

let server: TestAuthServer;
/** The resource server's own client, as RS_CLIENT_ID/RS_CLIENT_SECRET provision it. */
const RS = { client_id: 'mcp-resource-server', client_secret: 'rs-secret-0123456789abcdef0123456789abcdef' };
const basic = (c: { client_id: string; client_secret: string }) =>
  `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}`;

beforeAll(async () => {
  // Grace 0: reuse detection is checked bare here; the grace window has its own tests (token-races.test.ts).
  server = await startAuthServer({ AUTH_REFRESH_GRACE_SECONDS: '0', RS_CLIENT_ID: RS.client_id, RS_CLIENT_SECRET: RS.client_secret });
  await addUser(server);
});
afterAll(() => server?.close());

async function freshTokens() {
  const client = await registerPublicClient(server);
  const { tokens } = await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
  return { client, tokens };
}

function refresh(clientId: string, refreshToken: string, extra: Record<string, string> = {}) {
  return postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId, ...extra });
}

describe('refresh tokens', () => {
  it('are issued to every authorization_code client without offline_access or prompt=consent', async () => {
    const { tokens } = await freshTokens();
    expect(tokens.refresh_token).toBeTypeOf('string');
    expect(tokens.scope).not.toContain('offline_access');
  });

  it('rotate on each use for public clients, and the new access token keeps the resource and scope', async () => {
    const { client, tokens } = await freshTokens();
    const response = await refresh(client.client_id, tokens.refresh_token!, { resource: RESOURCE });
    expect(response.status).toBe(200);
    const next = (await response.json()) as Record<string, string>;
    expect(next.refresh_token).toBeTypeOf('string');
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(next.scope).toBe('mcp:tools');
    const payload = JSON.parse(Buffer.from(next.access_token!.split('.')[1]!, 'base64url').toString());
    expect(payload.aud).toBe(RESOURCE);
  });

  it('revoke the whole grant when a rotated refresh token is reused', async () => {
    const { client, tokens } = await freshTokens();
    const first = (await (await refresh(client.client_id, tokens.refresh_token!)).json()) as Record<string, string>;
    const reuse = await refresh(client.client_id, tokens.refresh_token!);
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toMatchObject({ error: 'invalid_grant' });
    // The successor was part of the same grant, so it is gone too.
    const successor = await refresh(client.client_id, first.refresh_token!);
    expect(successor.status).toBe(400);
    expect(await successor.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('accept a trailing-slash resource on refresh without burning the grant', async () => {
    const { client, tokens } = await freshTokens();
    const response = await refresh(client.client_id, tokens.refresh_token!, { resource: `${RESOURCE}/` });
    expect(response.status).toBe(200);
  });

  it('refuse an unknown resource with invalid_target before the refresh token is consumed', async () => {
    const { client, tokens } = await freshTokens();
    const wrong = await refresh(client.client_id, tokens.refresh_token!, { resource: 'http://localhost:9/elsewhere' });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_target' });
    // The same refresh token still works: nothing was consumed, no reuse detection tripped.
    const retry = await refresh(client.client_id, tokens.refresh_token!);
    expect(retry.status).toBe(200);
  });

  it('refuse a refresh by another client', async () => {
    const { tokens } = await freshTokens();
    const other = await registerPublicClient(server);
    const response = await refresh(other.client_id, tokens.refresh_token!);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_grant' });
  });
});

describe('revocation (RFC 7009)', () => {
  it('revoking a refresh token ends the grant', async () => {
    const { client, tokens } = await freshTokens();
    const revoke = await postForm(`${server.url}/token/revocation`, { token: tokens.refresh_token!, client_id: client.client_id });
    expect(revoke.status).toBe(200);
    const after = await refresh(client.client_id, tokens.refresh_token!);
    expect(after.status).toBe(400);
    expect(await after.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it("a public client cannot revoke another client's token: 200, as for an unknown token, and the token lives on", async () => {
    const { client, tokens } = await freshTokens();
    const other = await registerPublicClient(server);
    const revoke = await postForm(`${server.url}/token/revocation`, { token: tokens.refresh_token!, client_id: other.client_id });
    expect(revoke.status).toBe(200);
    expect((await refresh(client.client_id, tokens.refresh_token!)).status).toBe(200);
  });

  it("a confidential client, even the resource server's, cannot revoke another client's token", async () => {
    const { client, tokens } = await freshTokens();
    const api = await confidentialClient(server);
    for (const caller of [api, RS]) {
      const revoke = await postForm(`${server.url}/token/revocation`, { token: tokens.refresh_token! }, { authorization: basic(caller) });
      expect(revoke.status).toBe(400);
      expect(await revoke.json()).toMatchObject({ error: 'invalid_request' });
    }
    expect((await refresh(client.client_id, tokens.refresh_token!)).status).toBe(200);
  });

  it('answers 200 for an unknown token (RFC 7009 §2.2)', async () => {
    const client = await registerPublicClient(server);
    const revoke = await postForm(`${server.url}/token/revocation`, { token: 'not-a-token', client_id: client.client_id });
    expect(revoke.status).toBe(200);
  });
});

/** An openly self-registered confidential client with the code grant. */
async function confidentialClient(on: TestAuthServer, headers: Record<string, string> = {}) {
  const response = await postJson(
    `${on.url}/reg`,
    {
      client_name: 'Introspecting API',
      redirect_uris: ['https://api.example/cb'],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
    },
    headers,
  );
  expect(response.status).toBe(201);
  return (await response.json()) as { client_id: string; client_secret: string };
}

const introspect = (on: TestAuthServer, token: string, caller: { client_id: string; client_secret: string }) =>
  postForm(`${on.url}/token/introspection`, { token }, { authorization: basic(caller) });

describe('introspection (RFC 7662)', () => {
  it("tells the resource server's client whether any client's refresh token is active", async () => {
    const { client, tokens } = await freshTokens();
    const response = await introspect(server, tokens.refresh_token!, RS);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ active: true, scope: 'mcp:tools', client_id: client.client_id, sub: expect.any(String) });
  });

  it("tells an openly registered confidential client nothing about another client's token", async () => {
    const api = await confidentialClient(server);
    const { tokens } = await freshTokens();
    const response = await introspect(server, tokens.refresh_token!, api);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ active: false });
  });

  it('tells a confidential client about its own refresh token', async () => {
    const api = await confidentialClient(server);
    const redirectUri = 'https://api.example/cb';
    const result = await authorize(server, { clientId: api.client_id, redirectUri });
    const token = await postForm(
      `${server.url}/token`,
      {
        grant_type: 'authorization_code',
        code: result.callback!.searchParams.get('code')!,
        redirect_uri: redirectUri,
        code_verifier: result.verifier,
        resource: RESOURCE,
      },
      { authorization: basic(api) },
    );
    expect(token.status).toBe(200);
    const { refresh_token } = (await token.json()) as { refresh_token: string };
    expect(await (await introspect(server, refresh_token, api)).json()).toMatchObject({ active: true, client_id: api.client_id });
  });

  it('answers active: false to the resource server for a token whose client is gone', async () => {
    const { client, tokens } = await freshTokens();
    await server.storage.models.destroy('Client', client.client_id);
    const response = await introspect(server, tokens.refresh_token!, RS);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ active: false });
  });

  it('answers active: false for garbage', async () => {
    const response = await introspect(server, 'garbage', RS);
    expect(await response.json()).toEqual({ active: false });
  });

  it('tells public clients nothing, even about their own active token', async () => {
    const { client, tokens } = await freshTokens();
    const response = await postForm(`${server.url}/token/introspection`, { token: tokens.refresh_token!, client_id: client.client_id });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ active: false });
  });

  it("refuses a wrong client secret, also the resource server's", async () => {
    for (const caller of [await confidentialClient(server), RS]) {
      const response = await introspect(server, 'x', { ...caller, client_secret: 'wrong' });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: 'invalid_client' });
    }
  });
});

describe('introspection with registration behind the initial access token', () => {
  const IAT = 'operator-secret-0123456789';
  let closed: TestAuthServer;
  beforeAll(async () => {
    closed = await startAuthServer({ AUTH_INITIAL_ACCESS_TOKEN: IAT, RS_CLIENT_ID: RS.client_id, RS_CLIENT_SECRET: RS.client_secret });
    await addUser(closed);
  });
  afterAll(() => closed?.close());

  it("a self-registered confidential client cannot introspect another client's refresh token; the resource server's client can", async () => {
    const bearer = { authorization: `Bearer ${IAT}` };
    const publicClient = (await (
      await postJson(`${closed.url}/reg`, { redirect_uris: ['http://127.0.0.1:8976/callback'], token_endpoint_auth_method: 'none' }, bearer)
    ).json()) as { client_id: string };
    const { tokens } = await loginAndGetTokens(closed, { clientId: publicClient.client_id, redirectUri: 'http://127.0.0.1:8976/callback' });
    const machine = (await (
      await postJson(`${closed.url}/reg`, { grant_types: ['client_credentials'], scope: 'mcp:tools' }, bearer)
    ).json()) as { client_id: string; client_secret: string };
    const api = await confidentialClient(closed, bearer);
    for (const caller of [machine, api]) {
      expect(await (await introspect(closed, tokens.refresh_token!, caller)).json()).toEqual({ active: false });
    }
    expect(await (await introspect(closed, tokens.refresh_token!, RS)).json()).toMatchObject({
      active: true,
      client_id: publicClient.client_id,
    });
  });
});
