import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser, hiddenField } from '../testing/browser.ts';
import {
  addUser,
  freePort,
  loginAndGetTokens,
  postForm,
  registerPublicClient,
  startAuthServer,
  type TestAuthServer,
} from '../testing/harness.ts';

const RS_ID = 'account-pages-rs';
const RS_SECRET = 'account-pages-secret-0123456789abcdef';
let server: TestAuthServer;

beforeAll(async () => {
  server = await startAuthServer({ RS_CLIENT_ID: RS_ID, RS_CLIENT_SECRET: RS_SECRET });
  await addUser(server, 'alice');
});
afterAll(() => server?.close());

/** Signs in on /account/login and returns the browser on the tokens page with its HTML. */
async function signIn(username = 'alice', password = 'correct horse battery staple') {
  const browser = new TestBrowser();
  const login = await browser.get(`${server.url}/account/login`);
  const html = await login.text();
  const response = await browser.postForm(`${server.url}/account/login`, { csrf: hiddenField(html, 'csrf'), username, password });
  return { browser, response };
}

async function page(browser: TestBrowser) {
  const response = await browser.get(`${server.url}/account/tokens`);
  return { response, html: await response.text() };
}

const introspect = async (token: string) =>
  (await (
    await postForm(
      `${server.url}/token/introspection`,
      { token },
      { authorization: `Basic ${Buffer.from(`${RS_ID}:${RS_SECRET}`).toString('base64')}` },
    )
  ).json()) as Record<string, unknown>;

describe('the personal access tokens page', () => {
  it('redirects to the sign-in form when nobody is signed in, and refuses a wrong password', async () => {
    const response = await fetch(`${server.url}/account/tokens`, { redirect: 'manual' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/account/login');
    const login = await (await fetch(`${server.url}/account/login`)).text();
    expect(login).toContain('<h1>Sign in</h1>');
    const { response: wrong } = await signIn('alice', 'not the password');
    expect(wrong.status).toBe(401);
  });

  it('creates a token shown once, lists it with its last use, and revokes it', async () => {
    const { browser, response } = await signIn();
    expect(response.status).toBe(303);
    const first = await page(browser);
    const listing = first.response;
    let html = first.html;
    expect(listing.status).toBe(200);
    expect(listing.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(html).not.toContain('<script');
    expect(html).toContain('You have no personal access tokens');
    expect(html).not.toContain('value="mcp:admin"'); // alice is no admin

    const created = await browser.postForm(`${server.url}/account/tokens`, {
      csrf: hiddenField(html, 'csrf'),
      name: 'laptop script',
      scope: 'mcp:tools',
      days: '7',
    });
    expect(created.status).toBe(201);
    const shown = /value="(mcp_pat_[A-Za-z0-9_-]+)"/.exec(await created.text())?.[1];
    expect(shown).toBeDefined();
    expect(await introspect(shown!)).toMatchObject({ active: true, scope: 'mcp:tools', pat_name: 'laptop script' });

    ({ html } = await page(browser));
    expect(html).not.toContain(shown);
    expect(html).toContain('laptop script');
    expect(html).toMatch(/last used \d{4}-\d\d-\d\d/);

    const revoked = await browser.postForm(`${server.url}/account/tokens/revoke`, {
      csrf: hiddenField(html, 'csrf'),
      name: 'laptop script',
    });
    expect(revoked.status).toBe(303);
    expect(await introspect(shown!)).toEqual({ active: false });
    ({ html } = await page(browser));
    expect(html).toContain('You have no personal access tokens');
  });

  it('refuses forms without the CSRF token of this session (403), and creates nothing', async () => {
    const { browser } = await signIn();
    const { html } = await page(browser);
    const forged = await browser.postForm(`${server.url}/account/tokens`, { csrf: 'forged', name: 'x', scope: 'mcp:tools', days: '7' });
    expect(forged.status).toBe(403);
    const missing = await browser.postForm(`${server.url}/account/tokens/revoke`, { name: 'x' });
    expect(missing.status).toBe(403);
    // Another session's token is no good either.
    const { browser: other } = await signIn();
    const stolen = await other.postForm(`${server.url}/account/tokens`, {
      csrf: hiddenField(html, 'csrf'),
      name: 'x',
      scope: 'mcp:tools',
      days: '7',
    });
    expect(stolen.status).toBe(403);
    const account = (await server.storage.accounts.findByUsername('alice'))!;
    expect((await server.storage.personalAccessTokens.list(account.id)).map((t) => t.name)).not.toContain('x');
    // A sign-in form posted from elsewhere (login CSRF) is refused too.
    const crossSite = await postForm(`${server.url}/account/login`, { username: 'alice', password: 'correct horse battery staple' });
    expect(crossSite.status).toBe(403);
  });

  it('refuses a scope beyond the user and an expiry past the maximum (400, nothing created)', async () => {
    const { browser } = await signIn();
    const { html } = await page(browser);
    const csrf = hiddenField(html, 'csrf');
    const admin = await browser.postForm(`${server.url}/account/tokens`, { csrf, name: 'adm', scope: 'mcp:admin', days: '7' });
    expect(admin.status).toBe(400);
    expect(await admin.text()).toContain('admin role');
    const long = await browser.postForm(`${server.url}/account/tokens`, { csrf, name: 'long', scope: 'mcp:tools', days: '91' });
    expect(long.status).toBe(400);
    const account = (await server.storage.accounts.findByUsername('alice'))!;
    expect(await server.storage.personalAccessTokens.list(account.id)).toEqual([]);
  });

  it('recognises a person already signed in at this server for an MCP client (its session)', async () => {
    const client = await registerPublicClient(server);
    const { browser } = await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
    const { response, html } = await page(browser);
    expect(response.status).toBe(200);
    expect(html).toContain('<strong>alice</strong>');
  });
});

describe('the token page behind TLS', () => {
  it('keeps its cookies __Host-, Secure, HttpOnly and SameSite=Strict', async () => {
    const port = await freePort();
    const tls = await startAuthServer({ AUTH_PORT: String(port), AUTH_ISSUER: `https://localhost:${port}` });
    try {
      await addUser(tls, 'alice');
      const browser = new TestBrowser();
      const login = await browser.get(`http://127.0.0.1:${port}/account/login`);
      const loginCookie = login.headers.getSetCookie().find((c) => c.startsWith('__Host-account_login='));
      expect(loginCookie).toMatch(/; path=\/;.*secure/i);
      const signedIn = await browser.postForm(`http://127.0.0.1:${port}/account/login`, {
        csrf: hiddenField(await login.text(), 'csrf'),
        username: 'alice',
        password: 'correct horse battery staple',
      });
      expect(signedIn.status).toBe(303);
      const session = signedIn.headers.getSetCookie().find((c) => c.startsWith('__Host-account='));
      expect(session).toMatch(/path=\//i);
      expect(session).toMatch(/secure/i);
      expect(session).toMatch(/httponly/i);
      expect(session).toMatch(/samesite=strict/i);
    } finally {
      await tls.close();
    }
  });
});
