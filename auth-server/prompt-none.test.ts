import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from './testing/browser.ts';
import {
  addUser,
  authorize,
  pkcePair,
  postForm,
  RESOURCE,
  registerPublicClient,
  startAuthServer,
  type TestAuthServer,
} from './testing/harness.ts';

const LANDING = 'https://evil.example/landing';

let server: TestAuthServer;
beforeAll(async () => {
  server = await startAuthServer();
  await addUser(server);
});
afterAll(() => server?.close());

function authParams(client: { client_id: string; redirect_uris: string[] }, extra: Record<string, string> = {}) {
  return new URLSearchParams({
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0]!,
    response_type: 'code',
    scope: 'mcp:tools',
    resource: RESOURCE,
    code_challenge: pkcePair().challenge,
    code_challenge_method: 'S256',
    state: 'xyz',
    prompt: 'none',
    ...extra,
  });
}

/** Our error page, and no way back to the client's redirect URI. */
async function expectErrorPageWithoutRedirect(response: Response, code: string) {
  expect(response.status).toBe(400);
  expect(response.headers.get('location')).toBeNull();
  expect(response.headers.get('content-type')).toContain('text/html');
  const html = await response.text();
  expect(html).toContain(code);
  expect(html).not.toContain(LANDING);
}

describe('prompt=none never turns the server into an open redirector (RFC 9700 §4.11.2)', () => {
  it('a freshly self-registered client gets our error page, not a redirect, when nobody is signed in', async () => {
    const evil = await registerPublicClient(server, { redirect_uris: [LANDING] });
    const response = await new TestBrowser().get(`${server.url}/auth?${authParams(evil)}`);
    await expectErrorPageWithoutRedirect(response, 'login_required');
  });

  it('a client this signed-in user never authorized gets our error page, not a redirect', async () => {
    const own = await registerPublicClient(server);
    const { browser, callback } = await authorize(server, { clientId: own.client_id, redirectUri: own.redirect_uris[0]! });
    expect(callback?.searchParams.get('code')).toBeTypeOf('string');
    const evil = await registerPublicClient(server, { redirect_uris: [LANDING] });
    const response = await browser.get(`${server.url}/auth?${authParams(evil)}`);
    await expectErrorPageWithoutRedirect(response, 'consent_required');
  });

  it('also when prompt=none comes through a pushed authorization request', async () => {
    const evil = await registerPublicClient(server, { redirect_uris: [LANDING] });
    const pushed = await postForm(`${server.url}/request`, Object.fromEntries(authParams(evil)));
    expect(pushed.status).toBe(201);
    const { request_uri } = (await pushed.json()) as { request_uri: string };
    const response = await new TestBrowser().get(`${server.url}/auth?${new URLSearchParams({ client_id: evil.client_id, request_uri })}`);
    await expectErrorPageWithoutRedirect(response, 'login_required');
  });

  // A web client (https redirect): loopback clients are native and are asked for consent on every
  // authorization (RFC 8252 §8.6), so prompt=none can never succeed silently for them.
  const webClient = () => registerPublicClient(server, { redirect_uris: ['https://app.example/callback'] });

  it('a client the user already authorized still gets a code without interaction', async () => {
    const own = await webClient();
    const { browser } = await authorize(server, { clientId: own.client_id, redirectUri: own.redirect_uris[0]! });
    const response = await browser.get(`${server.url}/auth?${authParams(own)}`);
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!);
    expect(location.href.startsWith(own.redirect_uris[0]!)).toBe(true);
    expect(location.searchParams.get('code')).toBeTypeOf('string');
    expect(location.searchParams.get('state')).toBe('xyz');
  });

  it('a client the user already authorized still gets consent_required and login_required redirects', async () => {
    const own = await webClient();
    const { browser } = await authorize(server, { clientId: own.client_id, redirectUri: own.redirect_uris[0]! });
    const consent = await browser.get(`${server.url}/auth?${authParams(own, { scope: 'mcp:tools mcp:admin' })}`);
    expect(consent.status).toBe(303);
    expect(new URL(consent.headers.get('location')!).searchParams.get('error')).toBe('consent_required');
    const login = await browser.get(`${server.url}/auth?${authParams(own, { scope: 'openid mcp:tools', max_age: '0' })}`);
    expect(login.status).toBe(303);
    expect(new URL(login.headers.get('location')!).searchParams.get('error')).toBe('login_required');
  });

  it('without prompt=none an unknown client still starts a normal sign-in', async () => {
    const evil = await registerPublicClient(server, { redirect_uris: [LANDING] });
    const params = authParams(evil);
    params.delete('prompt');
    const response = await new TestBrowser().get(`${server.url}/auth?${params}`);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/\/interaction\//);
  });
});
