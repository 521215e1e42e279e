import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postForm, postJson, RESOURCE, startAuthServer, type TestAuthServer } from './testing/harness.ts';

let server: TestAuthServer;
let client: { client_id: string; client_secret: string };
let basic: string;

const INITIAL_ACCESS_TOKEN = 'operator-secret-0123456789';

beforeAll(async () => {
  // Machine clients come from the operator: here through registration with the initial access token.
  server = await startAuthServer({ AUTH_INITIAL_ACCESS_TOKEN: INITIAL_ACCESS_TOKEN });
  const response = await postJson(
    `${server.url}/reg`,
    { client_name: 'Batch job', grant_types: ['client_credentials'], scope: 'mcp:tools' },
    { authorization: `Bearer ${INITIAL_ACCESS_TOKEN}` },
  );
  expect(response.status).toBe(201);
  client = (await response.json()) as typeof client;
  basic = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
});
afterAll(() => server?.close());

describe('client_credentials', () => {
  it('issues an ES256 at+jwt bound to the resource with the registered scope', async () => {
    const response = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope: 'mcp:tools', resource: RESOURCE },
      { authorization: basic },
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { access_token: string; refresh_token?: string; expires_in: number };
    expect(body.refresh_token).toBeUndefined();
    expect(body.expires_in).toBe(600);
    expect(decodeProtectedHeader(body.access_token)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    const { payload } = await jwtVerify(body.access_token, createRemoteJWKSet(new URL(`${server.url}/jwks`)), {
      issuer: server.url,
      audience: RESOURCE,
    });
    expect(payload).toMatchObject({ sub: client.client_id, client_id: client.client_id, scope: 'mcp:tools', roles: [] });
  });

  it('carries no user identity: sub is the client id and no user claim is present (RFC 9068 §2.2)', async () => {
    const response = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope: 'mcp:tools' },
      { authorization: basic },
    );
    const { access_token } = (await response.json()) as { access_token: string };
    const payload = JSON.parse(Buffer.from(access_token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(Object.keys(payload).sort()).toEqual(['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'roles', 'scope', 'sub']);
    expect(payload.sub).toBe(payload.client_id);
  });

  it('refuses a public client that carries client_credentials, even one already in storage', async () => {
    // As a row written before open registration refused it: it must not get a token by naming its id.
    await server.storage.models.upsert(
      'Client',
      'legacy-public-machine',
      {
        client_id: 'legacy-public-machine',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'none',
        scope: 'mcp:tools mcp:admin',
      },
      undefined,
    );
    const response = await postForm(`${server.url}/token`, {
      grant_type: 'client_credentials',
      client_id: 'legacy-public-machine',
      scope: 'mcp:tools',
    });
    const body = (await response.json()) as { error?: string; access_token?: string };
    expect([400, 401], JSON.stringify(body)).toContain(response.status);
    expect(body.access_token).toBeUndefined();
    expect(body.error).toMatch(/^invalid_client/);
  });

  it('uses the default resource when none is named', async () => {
    const response = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope: 'mcp:tools' },
      { authorization: basic },
    );
    expect(response.status).toBe(200);
    const { access_token } = (await response.json()) as { access_token: string };
    expect(JSON.parse(Buffer.from(access_token.split('.')[1]!, 'base64url').toString()).aud).toBe(RESOURCE);
  });

  it('refuses a scope the client did not register', async () => {
    const response = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope: 'mcp:admin', resource: RESOURCE },
      { authorization: basic },
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_scope' });
  });

  it('refuses a wrong secret and an unknown resource', async () => {
    const wrong = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope: 'mcp:tools' },
      { authorization: `Basic ${Buffer.from(`${client.client_id}:nope`).toString('base64')}` },
    );
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_client' });
    const target = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope: 'mcp:tools', resource: 'https://other.example/' },
      { authorization: basic },
    );
    expect(target.status).toBe(400);
    expect(await target.json()).toMatchObject({ error: 'invalid_target' });
  });

  it('answers an unknown grant type with unsupported_grant_type', async () => {
    const response = await postForm(`${server.url}/token`, { grant_type: 'urn:example:magic' }, { authorization: basic });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });
});
