import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser, formAction, hiddenField } from './testing/browser.ts';
import { addUser, freePort, pkcePair, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

describe('cookies behind a TLS-terminating proxy', () => {
  let server: TestAuthServer;
  let local: string;
  beforeAll(async () => {
    const port = await freePort();
    server = await startAuthServer({ AUTH_PORT: String(port), AUTH_ISSUER: `https://localhost:${port}`, AUTH_TRUST_PROXY: '1' });
    local = `http://localhost:${port}`;
    await addUser(server);
  });
  afterAll(() => server?.close());

  it('are Secure, HttpOnly, SameSite=Lax and carry __Host-/__Secure- prefixes', async () => {
    const client = await registerPublicClient({ url: local }, { redirect_uris: ['https://app.example/cb'] });
    const proxy = { 'x-forwarded-proto': 'https' };
    const browser = new TestBrowser(proxy);
    const { challenge } = pkcePair();
    const params = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: 'https://app.example/cb',
      response_type: 'code',
      scope: 'mcp:tools',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const start = await fetch(`${local}/auth?${params}`, { headers: proxy, redirect: 'manual' });
    const interaction = start.headers.getSetCookie().find((c) => c.startsWith('__Secure-interaction='));
    expect(interaction).toMatch(/; secure/i);
    expect(interaction).toMatch(/; httponly/i);
    expect(interaction).toMatch(/; samesite=lax/i);
    // The redirect names the public https issuer; the test reaches it through its local address.
    for (const line of start.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, value] = pair!.split('=');
      browser.setCookie(name!, value!);
    }
    const local_ = (location: string) => new URL(location.replace('https://', 'http://'), local).href;
    const page = await browser.get(local_(start.headers.get('location')!));
    const html = await page.text();
    const login = await browser.postForm(`${local}${formAction(html, '/login')}`, {
      csrf: hiddenField(html, 'csrf'),
      username: 'alice',
      password: 'correct horse battery staple',
    });
    expect(login.status).toBe(303);
    const resumed = await fetch(local_(login.headers.get('location')!), {
      headers: {
        ...proxy,
        cookie:
          login.headers
            .getSetCookie()
            .map((c) => c.split(';')[0])
            .join('; ') +
          '; ' +
          start.headers
            .getSetCookie()
            .map((c) => c.split(';')[0])
            .join('; '),
      },
      redirect: 'manual',
    });
    const session = resumed.headers.getSetCookie().find((c) => c.startsWith('__Host-session='));
    expect(session).toMatch(/; path=\/;/i);
    expect(session).toMatch(/; secure/i);
    expect(session).not.toMatch(/domain=/i);
  });
});
