import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { formAction, hiddenField, TestBrowser } from './testing/browser.ts';
import {
  addUser,
  authorize,
  loginAndGetTokens,
  pkcePair,
  postForm,
  RESOURCE,
  registerPublicClient,
  startAuthServer,
  type TestAuthServer,
} from './testing/harness.ts';

/**
 * RFC 6749 §3.3: a client may omit `scope`; the server then applies a pre-defined default. The
 * MCP conformance suite's authorization-code-grant does exactly that (PKCE, state and resource, no
 * scope), and oidc-provider alone ended such a request with access_denied after the user signed in.
 */
let server: TestAuthServer;

beforeAll(async () => {
  server = await startAuthServer();
  await addUser(server, 'alice', ['admin']);
});
afterAll(() => server?.close());

async function verified(accessToken: string, url = server.url) {
  const { payload } = await jwtVerify(accessToken, createRemoteJWKSet(new URL(`${url}/jwks`)), {
    issuer: url,
    audience: RESOURCE,
    typ: 'at+jwt',
  });
  return payload;
}

/** The user: opens `start`, signs in as alice, allows; returns the URL the client got back. */
async function signInAndConsent(start: string, redirectUri: string): Promise<URL> {
  const browser = new TestBrowser();
  let { response, url } = await browser.follow(await browser.get(start), redirectUri);
  for (const step of ['/login', '/confirm']) {
    if (url.startsWith(redirectUri)) break;
    const html = await response.text();
    const form: Record<string, string> = { csrf: hiddenField(html, 'csrf') };
    if (step === '/login') Object.assign(form, { username: 'alice', password: 'correct horse battery staple' });
    ({ response, url } = await browser.follow(await browser.postForm(new URL(formAction(html, step), server.url).href, form), redirectUri));
  }
  return new URL(url);
}

describe('an authorization request without scope gets the resource’s default scopes', () => {
  it('with resource and no scope: the user signs in, consents, and the token carries mcp:tools', async () => {
    const client = await registerPublicClient(server);
    const { tokens, callback } = await loginAndGetTokens(server, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      scope: null,
    });
    expect(callback?.searchParams.get('error')).toBeNull();
    expect(tokens.scope).toBe('mcp:tools');
    expect((await verified(tokens.access_token)).scope).toBe('mcp:tools');
  });

  it('with neither scope nor resource: the token is for the default resource and carries mcp:tools', async () => {
    const client = await registerPublicClient(server);
    const { tokens } = await loginAndGetTokens(server, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      scope: null,
      resource: null,
    });
    expect(tokens.scope).toBe('mcp:tools');
    const payload = await verified(tokens.access_token);
    expect(payload.aud).toBe(RESOURCE);
    expect(payload.scope).toBe('mcp:tools');
  });

  it('with a trailing-slash variant of the resource and no scope, still applies that resource’s defaults', async () => {
    const client = await registerPublicClient(server);
    const { tokens } = await loginAndGetTokens(server, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      scope: null,
      resource: `${RESOURCE}/`,
    });
    expect(tokens.scope).toBe('mcp:tools');
  });

  it('shows the default scope on the consent page in plain words', async () => {
    const client = await registerPublicClient(server);
    const browser = new TestBrowser();
    const { challenge } = pkcePair();
    const params = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0]!,
      response_type: 'code',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'xyz',
      resource: RESOURCE,
    });
    const { response: loginPage } = await browser.follow(await browser.get(`${server.url}/auth?${params}`));
    const loginHtml = await loginPage.text();
    const { response: consentPage } = await browser.follow(
      await browser.postForm(new URL(formAction(loginHtml, '/login'), server.url).href, {
        csrf: hiddenField(loginHtml, 'csrf'),
        username: 'alice',
        password: 'correct horse battery staple',
      }),
    );
    const html = await consentPage.text();
    expect(html).toContain('Allow access?');
    expect(html).toContain('<code>mcp:tools</code>');
    expect(html).toContain('Use the tools of this MCP server on your behalf');
    expect(html).not.toContain('mcp:admin');
  });

  it('treats an empty scope parameter as no scope', async () => {
    const client = await registerPublicClient(server);
    const { tokens } = await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, scope: '' });
    expect(tokens.scope).toBe('mcp:tools');
  });

  it('leaves a repeated scope parameter to be refused as invalid_request, not defaulted', async () => {
    const client = await registerPublicClient(server);
    const { challenge } = pkcePair();
    const query = `${new URLSearchParams({ client_id: client.client_id, redirect_uri: client.redirect_uris[0]!, response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256', state: 's', resource: RESOURCE })}&scope=&scope=`;
    const response = await fetch(`${server.url}/auth?${query}`, { redirect: 'manual' });
    const location = new URL(response.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/scope/);
  });

  it('does not widen a request that names its scope (mcp:admin alone stays mcp:admin)', async () => {
    const client = await registerPublicClient(server);
    const { tokens } = await loginAndGetTokens(server, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      scope: 'mcp:admin',
    });
    expect(tokens.scope).toBe('mcp:admin');
  });

  it('still refuses an unknown resource without scope with invalid_target, not a token with default scopes', async () => {
    const client = await registerPublicClient(server);
    const result = await authorize(server, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      scope: null,
      resource: 'http://localhost:9/other',
    });
    expect(result.callback?.searchParams.get('error')).toBe('invalid_target');
  });

  it('applies to a pushed authorization request (PAR) without scope', async () => {
    const client = await registerPublicClient(server);
    const { challenge, verifier } = pkcePair();
    const pushed = await postForm(`${server.url}/request`, {
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0]!,
      response_type: 'code',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'par-state',
      resource: RESOURCE,
    });
    expect(pushed.status).toBe(201);
    const { request_uri: requestUri } = (await pushed.json()) as { request_uri: string };
    const callback = await signInAndConsent(
      `${server.url}/auth?${new URLSearchParams({ client_id: client.client_id, request_uri: requestUri })}`,
      client.redirect_uris[0]!,
    );
    const code = callback.searchParams.get('code');
    expect(code, callback.href).toBeTruthy();
    const token = await postForm(`${server.url}/token`, {
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: client.redirect_uris[0]!,
      client_id: client.client_id,
      code_verifier: verifier,
      resource: RESOURCE,
    });
    expect(token.status).toBe(200);
    expect(((await token.json()) as { scope: string }).scope).toBe('mcp:tools');
  });
});

describe('a device authorization request without scope (RFC 8628) gets the default scopes too', () => {
  it('the user enters the code, signs in, consents to mcp:tools, and polling gets a token carrying mcp:tools', async () => {
    const deviceGrant = 'urn:ietf:params:oauth:grant-type:device_code';
    const client = await registerPublicClient(server, {
      grant_types: [deviceGrant, 'refresh_token'],
      response_types: [],
      redirect_uris: [],
    });
    const start = await postForm(`${server.url}/device/auth`, { client_id: client.client_id, resource: RESOURCE });
    expect(start.status).toBe(200);
    const device = (await start.json()) as { device_code: string; user_code: string };

    const browser = new TestBrowser();
    let page = await (await browser.get(`${server.url}/device`)).text();
    page = await (await browser.postForm(`${server.url}/device`, { xsrf: hiddenField(page, 'xsrf'), user_code: device.user_code })).text();
    let { response } = await browser.follow(
      await browser.postForm(`${server.url}/device`, {
        xsrf: hiddenField(page, 'xsrf'),
        user_code: hiddenField(page, 'user_code'),
        confirm: 'yes',
      }),
    );
    page = await response.text();
    ({ response } = await browser.follow(
      await browser.postForm(new URL(formAction(page, '/login'), server.url).href, {
        csrf: hiddenField(page, 'csrf'),
        username: 'alice',
        password: 'correct horse battery staple',
      }),
    ));
    page = await response.text();
    expect(page).toContain('<code>mcp:tools</code>');
    ({ response } = await browser.follow(
      await browser.postForm(new URL(formAction(page, '/confirm'), server.url).href, { csrf: hiddenField(page, 'csrf') }),
    ));
    expect(await response.text()).toContain('Device connected');

    const token = await postForm(`${server.url}/token`, {
      grant_type: deviceGrant,
      device_code: device.device_code,
      client_id: client.client_id,
    });
    expect(token.status).toBe(200);
    const body = (await token.json()) as { access_token: string; scope: string };
    expect(body.scope).toBe('mcp:tools');
    expect((await verified(body.access_token)).scope).toBe('mcp:tools');
  });
});

describe('AUTH_DEFAULT_SCOPES', () => {
  it('defaults to mcp:tools for every configured resource', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      AUTH_ISSUER: 'https://auth.example',
      RS_RESOURCE_URL: 'https://mcp.example/mcp',
      AUTH_EXTRA_RESOURCES: 'https://other.example/mcp',
    });
    expect(config.resources.map((r) => [r.url, r.defaultScopes])).toEqual([
      ['https://mcp.example/mcp', ['mcp:tools']],
      ['https://mcp.example/sse', ['mcp:tools']],
      ['https://other.example/mcp', ['mcp:tools']],
    ]);
  });

  it('accepts a space or comma separated list of the resource’s scopes', () => {
    expect(loadConfig({ AUTH_DEFAULT_SCOPES: 'mcp:tools mcp:admin' }).resources[0]!.defaultScopes).toEqual(['mcp:tools', 'mcp:admin']);
    expect(loadConfig({ AUTH_DEFAULT_SCOPES: 'mcp:tools,mcp:admin' }).resources[0]!.defaultScopes).toEqual(['mcp:tools', 'mcp:admin']);
  });

  it('refuses a scope the resource does not have, naming the variable', () => {
    expect(() => loadConfig({ AUTH_DEFAULT_SCOPES: 'mcp:tools mcp:everything' })).toThrow(/AUTH_DEFAULT_SCOPES: .*mcp:everything/);
  });

  it('issues the configured default set when a request has no scope', async () => {
    const custom = await startAuthServer({ AUTH_DEFAULT_SCOPES: 'mcp:tools mcp:admin' });
    try {
      await addUser(custom, 'alice', ['admin']);
      const client = await registerPublicClient(custom);
      const { tokens } = await loginAndGetTokens(custom, {
        clientId: client.client_id,
        redirectUri: client.redirect_uris[0]!,
        scope: null,
      });
      expect(tokens.scope.split(' ').sort()).toEqual(['mcp:admin', 'mcp:tools']);
    } finally {
      await custom.close();
    }
  });
});

describe('a request for OpenID Connect scopes only is not for the MCP server', () => {
  it('without resource, openid profile email gets an access token for userinfo, not an MCP-audience JWT', async () => {
    const client = await registerPublicClient(server);
    const { tokens } = await loginAndGetTokens(server, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      scope: 'openid profile email',
      resource: null,
    });
    expect(tokens.scope.split(' ').sort()).toEqual(['email', 'openid', 'profile']);
    // Opaque (no JWT header to decode), and not accepted as an MCP token.
    expect(tokens.access_token.split('.')).toHaveLength(1);
    await expect(verified(tokens.access_token)).rejects.toThrow();
    const userinfo = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(userinfo.status).toBe(200);
    expect(await userinfo.json()).toMatchObject({ name: 'Alice', email: 'alice@example.com' });
  });

  it('the same request naming a resource scope still gets the MCP JWT for the default resource', async () => {
    const client = await registerPublicClient(server);
    const { tokens } = await loginAndGetTokens(server, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      scope: 'openid profile mcp:tools',
      resource: null,
    });
    expect((await verified(tokens.access_token)).scope).toBe('mcp:tools');
  });
});
