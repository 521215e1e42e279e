import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formAction, hiddenField, TestBrowser } from './testing/browser.ts';
import { addUser, pkcePair, postForm, RESOURCE, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

let server: TestAuthServer;

beforeAll(async () => {
  server = await startAuthServer();
  await addUser(server, 'alice', ['admin']);
});
afterAll(() => server?.close());

/**
 * One authorization in `browser` with `scope`: signs in when asked, returns the scopes the consent
 * page listed, approves, and redeems the code.
 */
async function authorizeInBrowser(browser: TestBrowser, client: { client_id: string; redirect_uris: string[] }, scope: string) {
  const redirectUri = client.redirect_uris[0]!;
  const { verifier, challenge } = pkcePair();
  const params = new URLSearchParams({
    client_id: client.client_id,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    resource: RESOURCE,
  });
  let { response, url } = await browser.follow(await browser.get(`${server.url}/auth?${params}`), redirectUri);
  let consented: string[] = [];
  let signedIn = false;
  while (!url.startsWith(redirectUri)) {
    const html = await response.text();
    if (html.includes('/login"')) {
      signedIn = true;
      response = await browser.postForm(new URL(formAction(html, '/login'), server.url).href, {
        csrf: hiddenField(html, 'csrf'),
        username: 'alice',
        password: 'correct horse battery staple',
      });
    } else {
      consented = [...html.matchAll(/<code>([^<]+)<\/code><\/li>/g)].map((m) => m[1]!);
      response = await browser.postForm(new URL(formAction(html, '/confirm'), server.url).href, { csrf: hiddenField(html, 'csrf') });
    }
    ({ response, url } = await browser.follow(response, redirectUri));
  }
  const code = new URL(url).searchParams.get('code');
  expect(code, url).toBeTypeOf('string');
  const token = await postForm(`${server.url}/token`, {
    grant_type: 'authorization_code',
    code: code!,
    redirect_uri: redirectUri,
    client_id: client.client_id,
    code_verifier: verifier,
    resource: RESOURCE,
  });
  expect(token.status).toBe(200);
  const tokens = (await token.json()) as { access_token: string; scope: string };
  const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${server.url}/jwks`)), {
    issuer: server.url,
    audience: RESOURCE,
  });
  return { scopes: String(payload.scope).split(' ').sort(), roles: payload.roles, consented, signedIn };
}

// MCP 2026-07-28 "Step-Up Authorization Flow" (SEP-2350): the client re-authorizes with the union
// of its previous scopes and the challenged ones.
describe('step-up with the union of old and new scopes', () => {
  it('grants mcp:tools mcp:admin to a client that registered and first got mcp:tools, asking the signed-in admin only for mcp:admin', async () => {
    const client = await registerPublicClient(server, { scope: 'mcp:tools' });
    const browser = new TestBrowser();
    const first = await authorizeInBrowser(browser, client, 'mcp:tools');
    expect(first).toMatchObject({ scopes: ['mcp:tools'], consented: ['mcp:tools'], signedIn: true });

    const stepUp = await authorizeInBrowser(browser, client, 'mcp:tools mcp:admin');
    expect(stepUp.scopes).toEqual(['mcp:admin', 'mcp:tools']);
    expect(stepUp.roles).toEqual(['admin']);
    expect(stepUp.signedIn, 'no second password prompt').toBe(false);
    expect(stepUp.consented, 'consent asks only for what is new').toEqual(['mcp:admin']);
  });

  it('never grants a scope the resource does not publish', async () => {
    const client = await registerPublicClient(server, { scope: 'mcp:tools' });
    const result = await authorizeInBrowser(new TestBrowser(), client, 'mcp:tools mcp:root');
    expect(result.scopes).toEqual(['mcp:tools']);
  });
});
