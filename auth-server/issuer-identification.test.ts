import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from './testing/browser.ts';
import {
  addUser,
  authorize,
  freePort,
  pkcePair,
  registerPublicClient,
  RESOURCE,
  startAuthServer,
  type TestAuthServer,
} from './testing/harness.ts';

let server: TestAuthServer;

beforeAll(async () => {
  server = await startAuthServer();
  await addUser(server);
});
afterAll(() => server?.close());

/** The parameters of the redirect the authorization endpoint answers with right away (no user step). */
async function immediateRedirect(params: Record<string, string>, browser = new TestBrowser()): Promise<URLSearchParams> {
  const { challenge } = pkcePair();
  const query = new URLSearchParams({
    response_type: 'code',
    scope: 'mcp:tools',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    resource: RESOURCE,
    state: 's-1',
    ...params,
  });
  const response = await browser.get(`${server.url}/auth?${query}`);
  expect(response.status).toBe(303);
  const location = new URL(response.headers.get('location')!);
  expect(location.origin + location.pathname).toBe(params.redirect_uri);
  return location.searchParams;
}

// MCP 2026-07-28 "Authorization Response Validation" (SEP-2468): iss in every authorization
// response, errors included, so clients can detect mix-up attacks before acting on the response.
describe('RFC 9207 iss in every authorization response', () => {
  it('advertises authorization_response_iss_parameter_supported: true', async () => {
    const metadata = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
    expect(metadata.issuer).toBe(server.url);
  });

  it('names the issuer in a successful response', async () => {
    const client = await registerPublicClient(server);
    const result = await authorize(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
    expect(result.callback?.searchParams.get('code')).toBeTypeOf('string');
    expect(result.callback?.searchParams.get('iss')).toBe(server.url);
  });

  it('names the issuer in access_denied after the user denies at consent', async () => {
    const client = await registerPublicClient(server);
    const result = await authorize(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, decision: 'deny' });
    expect(result.callback?.searchParams.get('error')).toBe('access_denied');
    expect(result.callback?.searchParams.get('state')).toBe(result.state);
    expect(result.callback?.searchParams.get('iss')).toBe(server.url);
  });

  it('names the issuer in invalid_scope', async () => {
    // A client that registered only resource scopes may not ask for openid.
    const client = await registerPublicClient(server, { scope: 'mcp:tools' });
    const answer = await immediateRedirect({
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0]!,
      scope: 'openid mcp:tools',
    });
    expect(answer.get('error')).toBe('invalid_scope');
    expect(answer.get('state')).toBe('s-1');
    expect(answer.get('iss')).toBe(server.url);
  });

  it('names the issuer in login_required (prompt=none with max_age=0, a web client the user authorized)', async () => {
    // Without a session prompt=none gets our error page, never a redirect (prompt-none.test.ts), and a
    // loopback client always needs consent; an authorized web client whose login is too old is the
    // case that still redirects with login_required.
    const client = await registerPublicClient(server, { redirect_uris: ['https://app.example/callback'] });
    const browser = new TestBrowser();
    const first = await authorize(server, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      browser,
      scope: 'openid mcp:tools',
    });
    expect(first.callback?.searchParams.get('code')).toBeTypeOf('string');
    const answer = await immediateRedirect(
      { client_id: client.client_id, redirect_uri: client.redirect_uris[0]!, prompt: 'none', scope: 'openid mcp:tools', max_age: '0' },
      browser,
    );
    expect(answer.get('error')).toBe('login_required');
    expect(answer.get('iss')).toBe(server.url);
  });

  it('names the issuer when prompt=none cannot skip the consent a loopback client always needs', async () => {
    const client = await registerPublicClient(server);
    const browser = new TestBrowser();
    await authorize(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, browser });
    const answer = await immediateRedirect(
      { client_id: client.client_id, redirect_uri: client.redirect_uris[0]!, prompt: 'none' },
      browser,
    );
    expect(answer.get('error')).toBe('interaction_required');
    expect(answer.get('iss')).toBe(server.url);
  });

  it('names the issuer in invalid_request (no PKCE) and invalid_target (unknown resource)', async () => {
    const client = await registerPublicClient(server);
    const noPkce = await immediateRedirect({
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0]!,
      code_challenge: '',
      code_challenge_method: '',
    });
    expect(noPkce.get('error')).toBe('invalid_request');
    expect(noPkce.get('iss')).toBe(server.url);
    const unknown = await immediateRedirect({
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0]!,
      resource: 'http://localhost:9/other',
    });
    expect(unknown.get('error')).toBe('invalid_target');
    expect(unknown.get('iss')).toBe(server.url);
  });
});

describe('RFC 9207 iss under an issuer with a path', () => {
  let tenant: TestAuthServer;
  beforeAll(async () => {
    const port = await freePort();
    tenant = await startAuthServer({ AUTH_PORT: String(port), AUTH_ISSUER: `http://localhost:${port}/tenant-a` });
    await addUser(tenant);
  });
  afterAll(() => tenant?.close());

  it('names the issuer with its path, exactly, in success and error responses', async () => {
    const client = await registerPublicClient(tenant);
    const ok = await authorize(tenant, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
    expect(ok.callback?.searchParams.get('iss')).toBe(tenant.url);
    const denied = await authorize(tenant, { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, decision: 'deny' });
    expect(denied.callback?.searchParams.get('error')).toBe('access_denied');
    expect(denied.callback?.searchParams.get('iss')).toBe(tenant.url);
  });
});
