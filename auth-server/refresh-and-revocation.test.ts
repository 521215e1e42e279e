import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, loginAndGetTokens, postForm, postJson, RESOURCE, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

let server: TestAuthServer;

beforeAll(async () => {
  // Grace 0: reuse detection is checked bare here; the grace window has its own tests (token-races.test.ts).
  server = await startAuthServer({ AUTH_REFRESH_GRACE_SECONDS: '0' });
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

  it('answers 200 for an unknown token (RFC 7009 §2.2)', async () => {
    const client = await registerPublicClient(server);
    const revoke = await postForm(`${server.url}/token/revocation`, { token: 'not-a-token', client_id: client.client_id });
    expect(revoke.status).toBe(200);
  });
});

describe('introspection (RFC 7662)', () => {
  async function confidentialClient() {
    const response = await postJson(`${server.url}/reg`, {
      client_name: 'Introspecting API',
      redirect_uris: ['https://api.example/cb'],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
    });
    expect(response.status).toBe(201);
    return (await response.json()) as { client_id: string; client_secret: string };
  }
  const basic = (c: { client_id: string; client_secret: string }) => `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}`;

  it('tells a confidential client whether a refresh token is active', async () => {
    const api = await confidentialClient();
    const { tokens } = await freshTokens();
    const response = await postForm(`${server.url}/token/introspection`, { token: tokens.refresh_token! }, { authorization: basic(api) });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ active: true, scope: 'mcp:tools', client_id: expect.any(String), sub: expect.any(String) });
  });

  it('answers active: false for garbage', async () => {
    const api = await confidentialClient();
    const response = await postForm(`${server.url}/token/introspection`, { token: 'garbage' }, { authorization: basic(api) });
    expect(await response.json()).toEqual({ active: false });
  });

  it('tells public clients nothing, even about their own active token', async () => {
    const { client, tokens } = await freshTokens();
    const response = await postForm(`${server.url}/token/introspection`, { token: tokens.refresh_token!, client_id: client.client_id });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ active: false });
  });

  it('refuses a wrong client secret', async () => {
    const api = await confidentialClient();
    const response = await postForm(`${server.url}/token/introspection`, { token: 'x' }, { authorization: basic({ ...api, client_secret: 'wrong' }) });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
  });
});
