import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postForm, postJson, RESOURCE, startAuthServer, type TestAuthServer } from './testing/harness.ts';

let server: TestAuthServer;
let client: { client_id: string; client_secret: string };
let basic: string;

beforeAll(async () => {
  server = await startAuthServer();
  const response = await postJson(`${server.url}/reg`, { client_name: 'Batch job', grant_types: ['client_credentials'], scope: 'mcp:tools' });
  client = (await response.json()) as typeof client;
  basic = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
});
afterAll(() => server?.close());

describe('client_credentials', () => {
  it('issues an ES256 at+jwt bound to the resource with the registered scope', async () => {
    const response = await postForm(`${server.url}/token`, { grant_type: 'client_credentials', scope: 'mcp:tools', resource: RESOURCE }, { authorization: basic });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { access_token: string; refresh_token?: string; expires_in: number };
    expect(body.refresh_token).toBeUndefined();
    expect(body.expires_in).toBe(600);
    expect(decodeProtectedHeader(body.access_token)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    const { payload } = await jwtVerify(body.access_token, createRemoteJWKSet(new URL(`${server.url}/jwks`)), { issuer: server.url, audience: RESOURCE });
    expect(payload).toMatchObject({ sub: client.client_id, client_id: client.client_id, scope: 'mcp:tools', roles: [] });
  });

  it('uses the default resource when none is named', async () => {
    const response = await postForm(`${server.url}/token`, { grant_type: 'client_credentials', scope: 'mcp:tools' }, { authorization: basic });
    expect(response.status).toBe(200);
    const { access_token } = (await response.json()) as { access_token: string };
    expect(JSON.parse(Buffer.from(access_token.split('.')[1]!, 'base64url').toString()).aud).toBe(RESOURCE);
  });

  it('refuses a scope the client did not register', async () => {
    const response = await postForm(`${server.url}/token`, { grant_type: 'client_credentials', scope: 'mcp:admin', resource: RESOURCE }, { authorization: basic });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_scope' });
  });

  it('refuses a wrong secret and an unknown resource', async () => {
    const wrong = await postForm(`${server.url}/token`, { grant_type: 'client_credentials', scope: 'mcp:tools' }, { authorization: `Basic ${Buffer.from(`${client.client_id}:nope`).toString('base64')}` });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_client' });
    const target = await postForm(`${server.url}/token`, { grant_type: 'client_credentials', scope: 'mcp:tools', resource: 'https://other.example/' }, { authorization: basic });
    expect(target.status).toBe(400);
    expect(await target.json()).toMatchObject({ error: 'invalid_target' });
  });

  it('answers an unknown grant type with unsupported_grant_type', async () => {
    const response = await postForm(`${server.url}/token`, { grant_type: 'urn:example:magic' }, { authorization: basic });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });
});
