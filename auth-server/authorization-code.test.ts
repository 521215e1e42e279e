import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from './testing/browser.ts';
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

let server: TestAuthServer;
let alice: { id: string };

beforeAll(async () => {
  server = await startAuthServer();
  alice = await addUser(server, 'alice', ['admin']);
});
afterAll(() => server?.close());

describe('authorization code + PKCE over HTTP', () => {
  it('issues an RFC 9068 JWT whose iss, aud, scope, sub, typ and kid are right and that verifies against /jwks', async () => {
    const client = await registerPublicClient(server);
    const { tokens, callback, state } = await loginAndGetTokens(server, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
    });

    // RFC 9207: the authorization response names the issuer.
    expect(callback?.searchParams.get('iss')).toBe(server.url);
    expect(callback?.searchParams.get('state')).toBe(state);
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.refresh_token).toBeTypeOf('string');

    const header = decodeProtectedHeader(tokens.access_token);
    expect(header).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: server.url, audience: RESOURCE, typ: 'at+jwt' });
    expect(payload.sub).toBe(alice.id);
    expect(payload.aud).toBe(RESOURCE);
    expect(payload.scope).toBe('mcp:tools');
    expect(payload.client_id).toBe(client.client_id);
    expect(payload.roles).toEqual(['admin']);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(600);
    const keys = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: { kid: string; d?: string }[] };
    expect(keys.keys.map((k) => k.kid)).toContain(header.kid);
    expect(keys.keys.every((k) => k.d === undefined)).toBe(true);
  });

  it('works for a client registered exactly like MCP Inspector', async () => {
    const client = await registerPublicClient(server, {
      client_name: 'MCP Inspector',
      redirect_uris: ['http://localhost:6274/oauth/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: 'mcp:tools',
    });
    expect(client.token_endpoint_auth_method).toBe('none');
    const { tokens } = await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: 'http://localhost:6274/oauth/callback' });
    expect(tokens.scope).toBe('mcp:tools');
    expect(tokens.refresh_token).toBeTypeOf('string');
  });

  it('without a resource parameter, issues a token for the default resource', async () => {
    const client = await registerPublicClient(server);
    const { tokens } = await loginAndGetTokens(server, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      resource: null,
    });
    const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: server.url, audience: RESOURCE });
    expect(payload.scope).toBe('mcp:tools');
  });

  it('accepts a trailing-slash variant of the resource and issues aud = the canonical URL', async () => {
    const client = await registerPublicClient(server);
    const { tokens } = await loginAndGetTokens(server, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      resource: `${RESOURCE}/`,
    });
    const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: server.url });
    expect(payload.aud).toBe(RESOURCE);
  });

  it('answers an unknown resource with invalid_target at the client', async () => {
    const client = await registerPublicClient(server);
    const result = await authorize(server, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      resource: 'http://localhost:9/other',
    });
    expect(result.callback?.searchParams.get('error')).toBe('invalid_target');
  });

  it('lets a client step up to a scope it did not register (mcp:admin), with the user’s consent', async () => {
    const client = await registerPublicClient(server, { scope: 'mcp:tools' });
    const { tokens } = await loginAndGetTokens(server, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      scope: 'mcp:tools mcp:admin',
    });
    expect(tokens.scope.split(' ').sort()).toEqual(['mcp:admin', 'mcp:tools']);
  });

  it('issues an ID token and userinfo with name, email and roles when openid profile email are asked', async () => {
    const client = await registerPublicClient(server);
    const { tokens } = await loginAndGetTokens(server, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      scope: 'openid profile email mcp:tools',
      resource: null,
    });
    expect(tokens.id_token).toBeTypeOf('string');
    const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
    const { payload } = await jwtVerify(tokens.id_token!, jwks, { issuer: server.url, audience: client.client_id });
    expect(payload).toMatchObject({ sub: alice.id, name: 'Alice', email: 'alice@example.com', roles: ['admin'] });
    // The access token is still the resource's JWT (useGrantedResource), not an opaque userinfo token.
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe('at+jwt');
  });
});

describe('PKCE and redirect URI checks', () => {
  it('rejects plain PKCE', async () => {
    const client = await registerPublicClient(server);
    const response = await fetch(
      `${server.url}/auth?${new URLSearchParams({ client_id: client.client_id, redirect_uri: client.redirect_uris[0]!, response_type: 'code', scope: 'mcp:tools', code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' })}`,
      { redirect: 'manual' },
    );
    const location = new URL(response.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/code_challenge_method/);
  });

  it('rejects an authorization request without PKCE', async () => {
    const client = await registerPublicClient(server);
    const response = await fetch(
      `${server.url}/auth?${new URLSearchParams({ client_id: client.client_id, redirect_uri: client.redirect_uris[0]!, response_type: 'code', scope: 'mcp:tools' })}`,
      { redirect: 'manual' },
    );
    const location = new URL(response.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('rejects a token request whose code_verifier does not match', async () => {
    const client = await registerPublicClient(server);
    const result = await authorize(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
    const response = await postForm(`${server.url}/token`, {
      grant_type: 'authorization_code',
      code: result.callback!.searchParams.get('code')!,
      redirect_uri: client.redirect_uris[0]!,
      client_id: client.client_id,
      code_verifier: pkcePair().verifier,
      resource: RESOURCE,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses an unregistered redirect URI without redirecting to it', async () => {
    const client = await registerPublicClient(server);
    const { challenge } = pkcePair();
    const response = await fetch(
      `${server.url}/auth?${new URLSearchParams({ client_id: client.client_id, redirect_uri: 'https://evil.example/cb', response_type: 'code', scope: 'mcp:tools', code_challenge: challenge, code_challenge_method: 'S256' })}`,
      { redirect: 'manual' },
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    const html = await response.text();
    expect(html).toContain('redirect_uri');
    expect(html).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });
});

describe('login and consent pages', () => {
  it('shows the login page again with a message on a wrong password', async () => {
    const client = await registerPublicClient(server);
    const result = await authorize(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, password: 'wrong' });
    expect(result.callback).toBeUndefined();
    expect(result.status).toBe(401);
    expect(result.html).toContain('Wrong username or password');
    expect(result.html).toContain('value="alice"');
  });

  it('returns access_denied to the client when the user denies', async () => {
    const client = await registerPublicClient(server);
    const result = await authorize(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, decision: 'deny' });
    expect(result.callback?.searchParams.get('error')).toBe('access_denied');
    expect(result.callback?.searchParams.get('iss')).toBe(server.url);
  });

  it('names the client as unverified, its redirect host, the resource and each scope in plain words', async () => {
    const client = await registerPublicClient(server, { client_name: 'Robert"><script>alert(1)</script>' });
    const browser = new TestBrowser();
    const { challenge } = pkcePair();
    const params = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0]!,
      response_type: 'code',
      scope: 'mcp:tools mcp:admin',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      resource: RESOURCE,
    });
    const { response: loginPage } = await browser.follow(await browser.get(`${server.url}/auth?${params}`));
    const loginHtml = await loginPage.text();
    expect(loginHtml).not.toContain('<script>alert(1)</script>');
    expect(loginHtml).toContain('Robert&quot;&gt;&lt;script&gt;');
    expect(loginPage.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(loginPage.headers.get('x-frame-options')).toBe('DENY');

    const csrf = /name="csrf" value="([^"]+)"/.exec(loginHtml)![1]!;
    const action = /action="([^"]+\/login)"/.exec(loginHtml)![1]!;
    const { response: consentPage } = await browser.follow(
      await browser.postForm(new URL(action, server.url).href, { csrf, username: 'alice', password: 'correct horse battery staple' }),
    );
    const html = await consentPage.text();
    expect(html).toContain('unverified');
    expect(html).toContain('127.0.0.1:8976');
    expect(html).toContain(RESOURCE);
    expect(html).toContain('Use the tools of this MCP server on your behalf');
    expect(html).toContain('Use administrative tools');
  });

  it('refuses a login POST without the CSRF token', async () => {
    const client = await registerPublicClient(server);
    const browser = new TestBrowser();
    const { challenge } = pkcePair();
    const params = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0]!,
      response_type: 'code',
      scope: 'mcp:tools',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const { response } = await browser.follow(await browser.get(`${server.url}/auth?${params}`));
    const action = /action="([^"]+\/login)"/.exec(await response.text())![1]!;
    const forged = await browser.postForm(new URL(action, server.url).href, {
      csrf: 'forged',
      username: 'alice',
      password: 'correct horse battery staple',
    });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('csrf_check_failed');
    const missing = await browser.postForm(new URL(action, server.url).href, {
      username: 'alice',
      password: 'correct horse battery staple',
    });
    expect(missing.status).toBe(403);
  });

  it('shows a friendly error page for an unknown interaction or a missing cookie', async () => {
    const response = await fetch(`${server.url}/interaction/does-not-exist`);
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).toContain('This sign-in has expired');
    expect(html).not.toMatch(/at \S+ \(.*:\d+:\d+\)/); // no stack trace
    const post = await postForm(`${server.url}/interaction/does-not-exist/login`, { csrf: 'x', username: 'a', password: 'b' });
    expect(post.status).toBe(400);
  });
});

describe('consent for more than one resource', () => {
  it('names every resource the grant will cover', async () => {
    const other = 'http://localhost:3002/mcp';
    const multi = await startAuthServer({ AUTH_EXTRA_RESOURCES: other });
    try {
      await addUser(multi);
      const client = await registerPublicClient(multi);
      const browser = new TestBrowser();
      const { challenge } = pkcePair();
      const params = new URLSearchParams({
        client_id: client.client_id,
        redirect_uri: client.redirect_uris[0]!,
        response_type: 'code',
        scope: 'mcp:tools',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      params.append('resource', RESOURCE);
      params.append('resource', other);
      const { response: loginPage } = await browser.follow(await browser.get(`${multi.url}/auth?${params}`));
      const loginHtml = await loginPage.text();
      const csrf = /name="csrf" value="([^"]+)"/.exec(loginHtml)![1]!;
      const action = /action="([^"]+\/login)"/.exec(loginHtml)![1]!;
      const { response: consentPage } = await browser.follow(
        await browser.postForm(new URL(action, multi.url).href, { csrf, username: 'alice', password: 'correct horse battery staple' }),
      );
      const html = await consentPage.text();
      expect(html).toContain(RESOURCE);
      expect(html).toContain(other);
    } finally {
      await multi.close();
    }
  });
});
