import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, authorize, postJson, startAuthServer, type TestAuthServer } from './testing/harness.ts';

let server: TestAuthServer;

beforeAll(async () => {
  server = await startAuthServer();
  await addUser(server);
});
afterAll(() => server?.close());

type Sent = string | number | undefined;

const register = (applicationType: Sent, redirectUris: string[]) =>
  postJson(`${server.url}/reg`, {
    client_name: 'SEP-837 matrix',
    redirect_uris: redirectUris,
    ...(applicationType === undefined ? {} : { application_type: applicationType }),
  });

// MCP 2026-07-28 client registration (SEP-837): clients say what they are, and we honour it.
describe('application_type and redirect URIs at registration (OIDC Registration §2, RFC 8252, SEP-837)', () => {
  it.each<[string, Sent, string[], string]>([
    ['native with loopback http', 'native', ['http://127.0.0.1:9000/cb', 'http://localhost/cb', 'http://[::1]/cb'], 'native'],
    ['native with a private-use scheme', 'native', ['com.example.app:/oauth2redirect'], 'native'],
    ['native with a claimed https URI (RFC 8252 §7.2)', 'native', ['https://app.example/native-cb'], 'native'],
    ['web with https', 'web', ['https://app.example/cb'], 'web'],
    ['web with https and loopback http', 'web', ['https://app.example/cb', 'http://localhost:6274/cb'], 'web'],
    ['web with loopback http only (a local app: native)', 'web', ['http://localhost:6274/oauth/callback'], 'native'],
    ['no application_type with https (web)', undefined, ['https://app.example/cb'], 'web'],
    ['no application_type with loopback http only (native)', undefined, ['http://127.0.0.1/callback'], 'native'],
  ])('accepts %s', async (_label, sent, uris, registered) => {
    const response = await register(sent, uris);
    const body = (await response.json()) as Record<string, unknown>;
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(body.application_type).toBe(registered);
    expect(body.redirect_uris).toEqual(uris);
  });

  it.each<[string, Sent, string[], string, RegExp]>([
    ['web with a private-use scheme', 'web', ['com.example.app:/cb'], 'invalid_redirect_uri', /application_type "native"/],
    [
      'a private-use scheme without application_type (web by default)',
      undefined,
      ['com.example.app:/cb'],
      'invalid_redirect_uri',
      /application_type "native"/,
    ],
    ['web with http on another host', 'web', ['http://app.example/cb'], 'invalid_redirect_uri', /http is only allowed on loopback/],
    ['native with http on another host', 'native', ['http://192.0.2.1/cb'], 'invalid_redirect_uri', /http is only allowed on loopback/],
    ['native with https on a loopback host', 'native', ['https://localhost/cb'], 'invalid_redirect_uri', /must not be using localhost/],
    ['native with javascript:', 'native', ['javascript:alert(1)'], 'invalid_redirect_uri', /javascript:/],
    [
      'web with https and a private-use scheme',
      'web',
      ['https://app.example/cb', 'com.example.app:/cb'],
      'invalid_redirect_uri',
      /application_type "native"/,
    ],
    ['an unknown application_type', 'desktop', ['http://127.0.0.1/cb'], 'invalid_client_metadata', /application_type/],
    ['an application_type that is not a string', 7, ['https://app.example/cb'], 'invalid_client_metadata', /application_type/],
  ])('refuses %s with a clear error', async (_label, sent, uris, error, description) => {
    const response = await register(sent, uris);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; error_description: string };
    expect(body.error).toBe(error);
    expect(body.error_description).toMatch(description);
  });
});

describe('the registered application_type in the authorization flow', () => {
  it('sends the code of a native client to its private-use scheme, with iss', async () => {
    const response = await register('native', ['com.example.app:/oauth2redirect']);
    const client = (await response.json()) as { client_id: string };
    const result = await authorize(server, { clientId: client.client_id, redirectUri: 'com.example.app:/oauth2redirect' });
    expect(result.callback?.protocol).toBe('com.example.app:');
    expect(result.callback?.searchParams.get('code')).toBeTypeOf('string');
    expect(result.callback?.searchParams.get('iss')).toBe(server.url);
  });
});
