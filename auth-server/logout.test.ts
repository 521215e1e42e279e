import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser, hiddenField } from './testing/browser.ts';
import { addUser, authorize, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

let server: TestAuthServer;
beforeAll(async () => {
  server = await startAuthServer();
  await addUser(server);
});
afterAll(() => server?.close());

describe('sessions and RP-initiated logout', () => {
  it('a signed-in browser is not asked for its password again; after logout it is', async () => {
    const client = await registerPublicClient(server);
    const browser = new TestBrowser();
    const first = await authorize(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, browser });
    expect(first.callback?.searchParams.get('code')).toBeTypeOf('string');

    // Same browser, same client: no password again (a loopback client still confirms, RFC 8252 §8.6).
    const second = await authorize(server, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      browser,
      password: 'not used',
    });
    expect(second.callback?.searchParams.get('code')).toBeTypeOf('string');

    const page = await (await browser.get(`${server.url}/session/end`)).text();
    expect(page).toContain('Sign out?');
    const confirm = await browser.postForm(`${server.url}/session/end/confirm`, { xsrf: hiddenField(page, 'xsrf'), logout: 'yes' });
    const { response } = await browser.follow(confirm);
    expect(await response.text()).toContain('Signed out');

    const third = await authorize(server, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      browser,
      password: 'wrong',
    });
    expect(third.callback).toBeUndefined();
    expect(third.html).toContain('Wrong username or password');
  });

  it('refuses a logout confirmation without its xsrf token', async () => {
    const browser = new TestBrowser();
    await browser.get(`${server.url}/session/end`);
    const response = await browser.postForm(`${server.url}/session/end/confirm`, { logout: 'yes' });
    expect(response.status).toBe(400);
  });
});
