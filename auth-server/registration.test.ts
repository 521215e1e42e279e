import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postForm, postJson, RESOURCE, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

let server: TestAuthServer;

beforeAll(async () => {
  server = await startAuthServer();
});
afterAll(() => server?.close());

const register = (metadata: Record<string, unknown>) =>
  postJson(`${server.url}/reg`, { redirect_uris: ['http://127.0.0.1:9000/cb'], ...metadata });

describe('dynamic client registration (RFC 7591)', () => {
  it('registers a public loopback client with auth method none when none is named', async () => {
    const response = await postJson(`${server.url}/reg`, { client_name: 'CLI', redirect_uris: ['http://127.0.0.1:33418/callback'] });
    expect(response.status).toBe(201);
    const client = (await response.json()) as Record<string, unknown>;
    expect(client).toMatchObject({
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: ['http://127.0.0.1:33418/callback'],
    });
    expect(client.client_secret).toBeUndefined();
    expect(client.registration_access_token).toBeTypeOf('string');
  });

  it('accepts a registration whose scope lists resource scopes', async () => {
    const response = await register({ scope: 'mcp:tools' });
    expect(response.status).toBe(201);
    const client = (await response.json()) as { scope: string };
    expect(client.scope.split(' ')).toContain('mcp:tools');
  });

  it.each([
    ['http on localhost, any port', 'http://localhost:6274/oauth/callback'],
    ['http on [::1]', 'http://[::1]:4000/cb'],
    ['https anywhere', 'https://app.example/callback'],
  ])('accepts %s for a web client', async (_label, uri) => {
    expect((await register({ redirect_uris: [uri] })).status).toBe(201);
  });

  it('accepts a private-use scheme for a native client', async () => {
    expect((await register({ application_type: 'native', redirect_uris: ['com.example.app:/oauth2redirect'] })).status).toBe(201);
  });

  it.each([
    ['http on a non-loopback host', 'http://app.example/cb', 'web'],
    ['http on a non-loopback host (native)', 'http://192.0.2.1/cb', 'native'],
    ['javascript:', 'javascript:alert(1)', 'native'],
    ['data:', 'data:text/html,hi', 'native'],
    ['a custom scheme for a web client', 'com.example.app:/cb', 'web'],
    ['a fragment', 'https://app.example/cb#x', 'web'],
  ])('refuses %s', async (_label, uri, applicationType) => {
    const response = await register({ application_type: applicationType, redirect_uris: [uri] });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string };
    expect(['invalid_redirect_uri', 'invalid_client_metadata']).toContain(body.error);
  });

  it('refuses more than 20 redirect URIs, or one longer than 2,000 characters', async () => {
    const many = Array.from({ length: 21 }, (_, i) => `http://127.0.0.1:${9000 + i}/cb`);
    const tooMany = await register({ redirect_uris: many });
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({ error: 'invalid_redirect_uri' });
    expect((await register({ redirect_uris: many.slice(0, 20) })).status).toBe(201);
    const long = await register({ redirect_uris: [`https://app.example/${'a'.repeat(2000)}`] });
    expect(long.status).toBe(400);
  });

  it('drops self-assigned roles from an open registration', async () => {
    const response = await register({ roles: ['admin'], scope: 'mcp:tools' });
    expect(response.status).toBe(201);
    const client = (await response.json()) as Record<string, unknown>;
    expect(client.roles).toBeUndefined();
  });

  it.each([
    ['a public client (the reported exploit)', { token_endpoint_auth_method: 'none', scope: 'mcp:tools mcp:admin' }],
    ['a client that names no auth method', { scope: 'mcp:tools' }],
    ['a confidential client with a secret', { token_endpoint_auth_method: 'client_secret_basic', scope: 'mcp:tools' }],
    [
      'a client that also asks for the code grant',
      {
        grant_types: ['authorization_code', 'client_credentials'],
        token_endpoint_auth_method: 'client_secret_post',
        redirect_uris: ['https://app.example/cb'],
      },
    ],
  ])('open registration refuses client_credentials for %s with invalid_client_metadata', async (_label, metadata) => {
    const response = await postJson(`${server.url}/reg`, { grant_types: ['client_credentials'], ...metadata });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; error_description: string };
    expect(body.error).toBe('invalid_client_metadata');
    expect(body.error_description).toMatch(/client_credentials/);
  });

  it('drops a self-assigned resource-server mark from an open registration', async () => {
    const response = await register({ token_endpoint_auth_method: 'client_secret_basic', resource_server: true });
    expect(response.status).toBe(201);
    expect(((await response.json()) as Record<string, unknown>).resource_server).toBeUndefined();
  });

  it("drops a self-assigned operator_verified mark and allowed_resources from a registration (the operator's alone)", async () => {
    const response = await register({ operator_verified: true, allowed_resources: [RESOURCE] });
    expect(response.status).toBe(201);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.operator_verified).toBeUndefined();
    expect(body.allowed_resources).toBeUndefined();
    expect((await server.storage.models.find('Client', body.client_id as string))?.operator_verified).toBeUndefined();
  });

  it('answers malformed JSON, a non-object body and a huge body with 4xx OAuth errors', async () => {
    const malformed = await fetch(`${server.url}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"redirect_uris": [',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: 'invalid_client_metadata' });
    const array = await fetch(`${server.url}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1,2]' });
    expect(array.status).toBe(400);
    const huge = await postJson(`${server.url}/reg`, { client_name: 'x'.repeat(200_000), redirect_uris: ['http://127.0.0.1/cb'] });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: 'invalid_client_metadata' });
    const wrongType = await fetch(`${server.url}/reg`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    expect(wrongType.status).toBe(400);
    const badTypes = await postJson(`${server.url}/reg`, { redirect_uris: 'not-an-array' });
    expect(badTypes.status).toBe(400);
  });
});

describe('registration management (RFC 7592)', () => {
  it('reads, updates and deletes a client with its registration access token', async () => {
    const client = await registerPublicClient(server);
    const auth = { authorization: `Bearer ${client.registration_access_token}` };
    const read = await fetch(client.registration_client_uri, { headers: auth });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ client_id: client.client_id });

    const update = await fetch(client.registration_client_uri, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: client.client_id,
        client_name: 'Renamed',
        redirect_uris: ['http://127.0.0.1:8976/callback'],
        token_endpoint_auth_method: 'none',
      }),
    });
    expect(update.status).toBe(200);
    const updated = (await update.json()) as { client_name: string; registration_access_token: string };
    expect(updated.client_name).toBe('Renamed');

    const rotatedAuth = { authorization: `Bearer ${updated.registration_access_token}` };
    const remove = await fetch(client.registration_client_uri, { method: 'DELETE', headers: rotatedAuth });
    expect(remove.status).toBe(204);
    const gone = await fetch(client.registration_client_uri, { headers: rotatedAuth });
    expect(gone.status).toBe(401);
  });

  it.each([
    ['a public client', { token_endpoint_auth_method: 'none' }],
    ['a confidential client', { token_endpoint_auth_method: 'client_secret_basic' }],
  ])('refuses an update that adds client_credentials to %s registered openly', async (_label, auth) => {
    const created = (await (await register(auth)).json()) as Record<string, any>;
    const update = await fetch(created.registration_client_uri, {
      method: 'PUT',
      headers: { authorization: `Bearer ${created.registration_access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: created.client_id,
        ...(created.client_secret ? { client_secret: created.client_secret } : {}),
        redirect_uris: created.redirect_uris,
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
        scope: 'mcp:tools mcp:admin',
        ...auth,
      }),
    });
    expect(update.status).toBe(400);
    expect(await update.json()).toMatchObject({
      error: 'invalid_client_metadata',
      error_description: expect.stringMatching(/client_credentials/),
    });
    const token = await postForm(`${server.url}/token`, {
      grant_type: 'client_credentials',
      scope: 'mcp:tools',
      client_id: created.client_id,
      ...(created.client_secret ? { client_secret: created.client_secret } : {}),
    });
    expect([400, 401]).toContain(token.status);
  });

  it('refuses an update that turns an operator-registered client_credentials client public', async () => {
    // Not open registration: the update path alone must keep client_credentials confidential.
    const closed = await startAuthServer({ AUTH_INITIAL_ACCESS_TOKEN: 'operator-secret-0123456789' });
    try {
      const created = (await (
        await postJson(
          `${closed.url}/reg`,
          { grant_types: ['client_credentials'], scope: 'mcp:tools' },
          { authorization: 'Bearer operator-secret-0123456789' },
        )
      ).json()) as Record<string, any>;
      const update = await fetch(created.registration_client_uri, {
        method: 'PUT',
        headers: { authorization: `Bearer ${created.registration_access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          client_id: created.client_id,
          grant_types: ['client_credentials'],
          scope: 'mcp:tools',
          token_endpoint_auth_method: 'none',
          response_types: [],
        }),
      });
      expect(update.status).toBe(400);
      expect(await update.json()).toMatchObject({ error: 'invalid_client_metadata' });
    } finally {
      await closed.close();
    }
  });

  it('refuses management without the registration access token', async () => {
    const client = await registerPublicClient(server);
    const response = await fetch(client.registration_client_uri, { headers: { authorization: 'Bearer wrong' } });
    expect(response.status).toBe(401);
  });
});

describe('CORS', () => {
  it('answers a preflight on /reg for a browser client', async () => {
    const response = await fetch(`${server.url}/reg`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:6274',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:6274');
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it('keeps per-client CORS on /token: a redirect-URI origin is allowed, another origin is not', async () => {
    const client = await registerPublicClient(server, { redirect_uris: ['http://localhost:6274/oauth/callback'] });
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x', client_id: client.client_id });
    const allowed = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { origin: 'http://localhost:6274', 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:6274');
    const other = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('initial access token mode', () => {
  let closed: TestAuthServer;
  beforeAll(async () => {
    closed = await startAuthServer({ AUTH_INITIAL_ACCESS_TOKEN: 'operator-secret-0123456789' });
  });
  afterAll(() => closed?.close());

  it('refuses registration without the initial access token', async () => {
    const response = await postJson(`${closed.url}/reg`, { redirect_uris: ['http://127.0.0.1:1/cb'] });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_token' });
  });

  it('refuses client_credentials for a public client even with the initial access token', async () => {
    const response = await postJson(
      `${closed.url}/reg`,
      { grant_types: ['client_credentials'], token_endpoint_auth_method: 'none', scope: 'mcp:tools' },
      { authorization: 'Bearer operator-secret-0123456789' },
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: 'invalid_client_metadata',
      error_description: expect.stringMatching(/confidential/),
    });
  });

  it('drops a resource-server mark even from a registration with the initial access token', async () => {
    const response = await postJson(
      `${closed.url}/reg`,
      { grant_types: ['client_credentials'], scope: 'mcp:tools', resource_server: true },
      { authorization: 'Bearer operator-secret-0123456789' },
    );
    expect(response.status).toBe(201);
    expect(((await response.json()) as Record<string, unknown>).resource_server).toBeUndefined();
  });

  it('registers with it, and an operator-registered client keeps its roles in client_credentials tokens', async () => {
    const response = await postJson(
      `${closed.url}/reg`,
      { grant_types: ['client_credentials'], scope: 'mcp:tools', roles: ['reporter'] },
      { authorization: 'Bearer operator-secret-0123456789' },
    );
    expect(response.status).toBe(201);
    const client = (await response.json()) as { client_id: string; client_secret: string; roles: string[] };
    expect(client.roles).toEqual(['reporter']);
    const token = await fetch(`${closed.url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'mcp:tools', resource: RESOURCE }),
    });
    expect(token.status).toBe(200);
    const { access_token } = (await token.json()) as { access_token: string };
    const payload = JSON.parse(Buffer.from(access_token.split('.')[1]!, 'base64url').toString());
    expect(payload).toMatchObject({
      aud: RESOURCE,
      scope: 'mcp:tools',
      roles: ['reporter'],
      client_id: client.client_id,
      sub: client.client_id,
    });
  });
});

describe('roles cannot be self-assigned through RFC 7592 updates', () => {
  let closed: TestAuthServer;
  beforeAll(async () => {
    closed = await startAuthServer({ AUTH_INITIAL_ACCESS_TOKEN: 'operator-secret-0123456789' });
  });
  afterAll(() => closed?.close());

  it('keeps the operator-given roles when the client updates itself with other roles', async () => {
    const created = (await (
      await postJson(
        `${closed.url}/reg`,
        { grant_types: ['client_credentials'], scope: 'mcp:tools', roles: ['reporter'] },
        { authorization: 'Bearer operator-secret-0123456789' },
      )
    ).json()) as Record<string, any>;
    const update = await fetch(created.registration_client_uri, {
      method: 'PUT',
      headers: { authorization: `Bearer ${created.registration_access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: created.client_id,
        client_secret: created.client_secret,
        grant_types: ['client_credentials'],
        scope: 'mcp:tools',
        roles: ['admin'],
      }),
    });
    expect(update.status).toBe(200);
    expect(((await update.json()) as { roles: string[] }).roles).toEqual(['reporter']);
  });

  it('cannot mark itself as verified through an update', async () => {
    const created = (await (
      await postJson(
        `${closed.url}/reg`,
        { grant_types: ['client_credentials'], scope: 'mcp:tools' },
        { authorization: 'Bearer operator-secret-0123456789' },
      )
    ).json()) as Record<string, any>;
    const update = await fetch(created.registration_client_uri, {
      method: 'PUT',
      headers: { authorization: `Bearer ${created.registration_access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: created.client_id,
        client_secret: created.client_secret,
        grant_types: ['client_credentials'],
        scope: 'mcp:tools',
        operator_verified: true,
      }),
    });
    expect(update.status).toBe(200);
    expect(((await update.json()) as Record<string, unknown>).operator_verified).toBeUndefined();
    expect((await closed.storage.models.find('Client', created.client_id))?.operator_verified).toBeUndefined();
  });

  it('cannot mark itself as the resource server through an update', async () => {
    const created = (await (
      await postJson(
        `${closed.url}/reg`,
        { grant_types: ['client_credentials'], scope: 'mcp:tools' },
        { authorization: 'Bearer operator-secret-0123456789' },
      )
    ).json()) as Record<string, any>;
    const update = await fetch(created.registration_client_uri, {
      method: 'PUT',
      headers: { authorization: `Bearer ${created.registration_access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: created.client_id,
        client_secret: created.client_secret,
        grant_types: ['client_credentials'],
        scope: 'mcp:tools',
        resource_server: true,
      }),
    });
    expect(update.status).toBe(200);
    expect(((await update.json()) as Record<string, unknown>).resource_server).toBeUndefined();
    expect((await closed.storage.models.find('Client', created.client_id))?.resource_server).toBeUndefined();
  });
});
