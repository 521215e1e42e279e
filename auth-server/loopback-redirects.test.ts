import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from './testing/browser.ts';
import { addUser, authorize, loginAndGetTokens, pkcePair, postJson, startAuthServer, type TestAuthServer } from './testing/harness.ts';

let server: TestAuthServer;

beforeAll(async () => {
  server = await startAuthServer();
  await addUser(server);
});
afterAll(() => server?.close());

/** Registers like several popular MCP clients do: loopback redirect URIs, no application_type. */
async function register(metadata: Record<string, unknown>) {
  const response = await postJson(`${server.url}/reg`, { client_name: 'Loopback CLI', ...metadata });
  const body = (await response.json()) as Record<string, any>;
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body as { client_id: string; application_type: string; redirect_uris: string[] };
}

/** The authorization endpoint's first answer for `redirectUri` (no login yet). */
async function authorizationAnswer(clientId: string, redirectUri: string): Promise<Response> {
  const { challenge } = pkcePair();
  const params = new URLSearchParams({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'mcp:tools',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  return fetch(`${server.url}/auth?${params}`, { redirect: 'manual' });
}

/** RFC 6749 §4.1.2.1: an invalid redirect URI is answered to the user, never redirected to. */
async function expectRefused(clientId: string, redirectUri: string) {
  const response = await authorizationAnswer(clientId, redirectUri);
  expect(response.status, redirectUri).toBe(400);
  expect(response.headers.get('location')).toBeNull();
  expect(await response.text()).toContain('redirect_uri');
}

describe('loopback redirect URIs accept any port (RFC 8252 §7.3, OAuth 2.1 §8.4.2)', () => {
  it.each([
    ['127.0.0.1 without a port', 'http://127.0.0.1/callback', 'http://127.0.0.1:53682/callback'],
    ['localhost without a port', 'http://localhost/callback', 'http://localhost:53682/callback'],
    ['[::1] without a port', 'http://[::1]/callback', 'http://[::1]:53682/callback'],
    ['127.0.0.1 with another port', 'http://127.0.0.1:8976/callback', 'http://127.0.0.1:53682/callback'],
  ])('a client that registered %s and sent no application_type gets its code on the port it uses', async (_label, registered, used) => {
    const client = await register({ redirect_uris: [registered] });
    const { tokens, callback } = await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: used });
    expect(callback!.origin + callback!.pathname).toBe(used);
    expect(tokens.access_token).toBeTypeOf('string');
  });

  it('treats a client whose redirect URIs are all loopback http as a native app, even when it says web', async () => {
    const silent = await register({ redirect_uris: ['http://127.0.0.1/callback', 'http://localhost/callback'] });
    expect(silent.application_type).toBe('native');
    const web = await register({ application_type: 'web', redirect_uris: ['http://127.0.0.1/callback'] });
    expect(web.application_type).toBe('native');
    const { tokens } = await loginAndGetTokens(server, { clientId: web.client_id, redirectUri: 'http://127.0.0.1:40001/callback' });
    expect(tokens.access_token).toBeTypeOf('string');
  });

  it('also serves a client stored as web before this rule existed on any loopback port', async () => {
    // Written straight to storage, as a registration from an earlier version left it.
    await server.storage.models.upsert(
      'Client',
      'stored-web-loopback',
      {
        client_id: 'stored-web-loopback',
        client_id_issued_at: Math.floor(Date.now() / 1000),
        application_type: 'web',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      },
      undefined,
    );
    const { tokens } = await loginAndGetTokens(server, { clientId: 'stored-web-loopback', redirectUri: 'http://127.0.0.1:40004/callback' });
    expect(tokens.access_token).toBeTypeOf('string');
  });

  it('still matches the loopback host exactly: localhost is not 127.0.0.1, and neither is [::1]', async () => {
    const v4 = await register({ redirect_uris: ['http://127.0.0.1/callback'] });
    await expectRefused(v4.client_id, 'http://localhost:53682/callback');
    await expectRefused(v4.client_id, 'http://[::1]:53682/callback');
    const named = await register({ redirect_uris: ['http://localhost/callback'] });
    await expectRefused(named.client_id, 'http://127.0.0.1:53682/callback');
  });

  it('still matches the path, the query and the scheme exactly', async () => {
    const client = await register({ redirect_uris: ['http://127.0.0.1/callback'] });
    await expectRefused(client.client_id, 'http://127.0.0.1:53682/other');
    await expectRefused(client.client_id, 'http://127.0.0.1:53682/callback/');
    await expectRefused(client.client_id, 'http://127.0.0.1:53682/callback?next=x');
    await expectRefused(client.client_id, 'https://127.0.0.1:53682/callback');
    await expectRefused(client.client_id, 'http://127.0.0.1.evil.example:53682/callback');
  });

  it('keeps exact matching for a web client with an https redirect URI', async () => {
    const client = await register({ redirect_uris: ['https://app.example/callback', 'http://localhost:6274/oauth/callback'] });
    expect(client.application_type).toBe('web');
    expect((await authorizationAnswer(client.client_id, 'https://app.example/callback')).status).toBe(303);
    await expectRefused(client.client_id, 'https://app.example:8443/callback');
    await expectRefused(client.client_id, 'http://app.example/callback');
    await expectRefused(client.client_id, 'http://localhost:6275/oauth/callback');
  });

  it('asks the signed-in user again before a loopback client gets another code, naming the scopes (RFC 8252 §8.6)', async () => {
    // Any program on the machine can listen on a loopback port, so consent is never silent for them.
    const client = await register({ redirect_uris: ['http://127.0.0.1/callback'] });
    const browser = new TestBrowser();
    const first = await authorize(server, { clientId: client.client_id, redirectUri: 'http://127.0.0.1:40002/callback', browser });
    expect(first.callback?.searchParams.get('code')).toBeTypeOf('string');
    const { challenge } = pkcePair();
    const params = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: 'http://127.0.0.1:40003/callback',
      response_type: 'code',
      scope: 'mcp:tools',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const { response, url } = await browser.follow(await browser.get(`${server.url}/auth?${params}`), 'http://127.0.0.1:40003');
    expect(url).toContain('/interaction/');
    const html = await response.text();
    expect(html).toContain('Allow access?');
    expect(html).not.toContain('name="password"');
    expect(html).toContain('mcp:tools');
  });
});
