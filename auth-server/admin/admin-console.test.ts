import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClientsCli } from '../cli/clients.ts';
import { listSigningKeys, openSigningKeys } from '../keys/signing-keys.ts';
import { DISABLED, VERIFIED } from '../provider/client-marks.ts';
import { consolePath } from './admin-session.ts';
import { formAction, hiddenField, TestBrowser } from '../testing/browser.ts';
import {
  addUser,
  freePort,
  loginAndGetTokens,
  postForm,
  RESOURCE,
  registerPublicClient,
  startAuthServer,
  type TestAuthServer,
} from '../testing/harness.ts';

const ADMIN_PASSWORD = 'a long admin passphrase here';
let server: TestAuthServer;
let clockOffset = 0;

/** Opens `path` of the console, signing in through the ordinary login page when asked to. */
async function consoleAs(browser: TestBrowser, username: string, password: string, path = '/admin') {
  let { response, url } = await browser.follow(await browser.get(`${server.url}${path}`));
  if (url.includes('/interaction/')) {
    const html = await response.text();
    expect(html).toContain('Admin console');
    const posted = await browser.postForm(new URL(formAction(html, '/login'), server.url).href, {
      csrf: hiddenField(html, 'csrf'),
      username,
      password,
    });
    ({ response, url } = await browser.follow(posted));
  }
  return { response, url, html: await response.text() };
}

async function adminBrowser() {
  const browser = new TestBrowser();
  const page = await consoleAs(browser, 'root', ADMIN_PASSWORD, '/admin/users');
  expect(page.response.status).toBe(200);
  return { browser, page };
}

/** `npm run clients -- add … --json` in-process: an operator's machine client. */
async function operatorClient(name: string) {
  let out = '';
  const stdout = new Writable({ write: (chunk, _e, done) => void ((out += String(chunk)), done()) });
  const stderr = new Writable({ write: (_c, _e, done) => done() });
  const args = ['add', '--name', name, '--grant', 'client_credentials', '--secret', '--scope', 'mcp:tools', '--json'];
  expect(
    await runClientsCli(args, { stdout, stderr, env: { DATA_DIR: server.config.dataDir, DATABASE_URL: server.config.databaseUrl ?? '' } }),
  ).toBe(0);
  return JSON.parse(out) as { client_id: string; client_secret: string };
}

function refresh(clientId: string, refreshToken: string) {
  return postForm(`${server.url}/token`, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: clientId,
    resource: RESOURCE,
  });
}

async function userPage(browser: TestBrowser, username: string) {
  const account = (await server.storage.accounts.findByUsername(username))!;
  return { account, html: await (await browser.get(`${server.url}/admin/users/${account.id}`)).text() };
}

/** The audit table is written in batches (at most 250 ms late): waits for `count` events of the family. */
async function waitForEvents(event: string, count: number) {
  for (let i = 0; ; i++) {
    const events = await server.storage.audit.recent({ event, limit: 50 });
    if (events.length >= count || i === 100) return events;
    await new Promise((done) => setTimeout(done, 20));
  }
}

describe.each(['sqlite', 'postgres'] as const)('admin console on %s', (store) => {
  beforeAll(async () => {
    server = await startAuthServer({}, { store, now: () => Date.now() + clockOffset });
    await addUser(server, 'root', ['admin'], ADMIN_PASSWORD);
    await addUser(server, 'alice');
  });
  afterAll(() => server?.close());

  describe('admin console: who gets in', () => {
    it('sends a visitor without a session to the ordinary login, and lands an admin on the dashboard after it', async () => {
      const browser = new TestBrowser();
      const first = await browser.get(`${server.url}/admin/users`);
      expect(first.status).toBe(303);
      const auth = new URL(first.headers.get('location')!, server.url);
      expect(auth.pathname).toBe('/auth');
      expect(auth.searchParams.get('client_id')).toBe('admin-console');
      expect(auth.searchParams.get('response_type')).toBe('none');
      const page = await consoleAs(browser, 'root', ADMIN_PASSWORD, '/admin/users');
      expect(new URL(page.url).pathname).toBe('/admin/users');
      expect(page.html).toContain('<h1>Users</h1>');
      expect(page.response.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(page.response.headers.get('cache-control')).toBe('no-store');
      expect(page.html).not.toMatch(/<script/i);
    });

    it('refuses a signed-in user without the admin role (403) and writes an audit line', async () => {
      const browser = new TestBrowser();
      const page = await consoleAs(browser, 'alice', 'correct horse battery staple');
      expect(page.response.status).toBe(403);
      expect(page.html).toContain('Administrators only');
      const again = await browser.get(`${server.url}/admin/keys`);
      expect(again.status).toBe(403);
      expect(server.logs.some((l) => l.includes('"event":"admin.refused"') && l.includes('"username":"alice"'))).toBe(true);
      expect((await waitForEvents('admin.refused', 2)).map((e) => e.username)).toEqual(['alice', 'alice']);
    });

    it('returns only to console paths after the sign-in: never another site', async () => {
      for (const bad of [
        'https://evil.example/admin',
        '//evil.example/admin',
        '/admin/../token',
        '/admin//x',
        '/administrator',
        '/admin\\x',
        7,
      ]) {
        expect(consolePath(bad, '/admin')).toBe('/admin');
      }
      for (const good of ['/admin', '/admin/users?q=a', '/admin/clients/https%3A%2F%2Fapp.example%2Fcimd'])
        expect(consolePath(good, '/admin')).toBe(good);
      const browser = new TestBrowser();
      const page = await consoleAs(browser, 'root', ADMIN_PASSWORD, '/admin/login?return=https%3A%2F%2Fevil.example%2F');
      expect(new URL(page.url).href).toBe(`${server.url}/admin`);
    });

    it('refuses a callback whose state was not started in this browser', async () => {
      const response = await new TestBrowser().get(`${server.url}/admin/callback?state=forged`);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('invalid_state');
    });
  });

  describe('admin console: actions', () => {
    it('refuses a form post without the CSRF token, or with another session’s', async () => {
      const { browser, page } = await adminBrowser();
      const csrf = hiddenField(page.html, 'csrf');
      const none = await browser.postForm(`${server.url}/admin/keys/rotate`, {});
      expect(none.status).toBe(403);
      expect(await none.text()).toContain('csrf_check_failed');
      const other = await adminBrowser();
      const foreign = await other.browser.postForm(`${server.url}/admin/keys/rotate`, { csrf });
      expect(foreign.status).toBe(403);
    });

    it('creates a user (password shown once, and it works), then edits and disables it, revoking its grants', async () => {
      const { browser } = await adminBrowser();
      const list = await (await browser.get(`${server.url}/admin/users`)).text();
      const created = await browser.postForm(`${server.url}/admin/users`, {
        csrf: hiddenField(list, 'csrf'),
        username: 'carol',
        name: 'Carol',
        email: 'carol@example.com',
        roles: 'user',
      });
      expect(created.status).toBe(201);
      const html = await created.text();
      const password = /<code id="password">([^<]+)<\/code>/.exec(html)![1]!;
      expect(password.length).toBeGreaterThanOrEqual(15);
      const carol = (await server.storage.accounts.findByUsername('carol'))!;
      expect(carol).toMatchObject({ name: 'Carol', roles: ['user'] });

      const client = await registerPublicClient(server);
      await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, username: 'carol', password });
      const page = await (await browser.get(`${server.url}/admin/users/${carol.id}`)).text();
      expect(page).toContain(client.client_id);
      expect(page).toContain('mcp:tools');

      const edited = await browser.postForm(`${server.url}/admin/users/${carol.id}/profile`, {
        csrf: hiddenField(page, 'csrf'),
        back: `/admin/users/${carol.id}`,
        name: 'Carol C',
        email: '',
        roles: 'user, auditor',
      });
      expect(edited.status).toBe(303);
      expect(edited.headers.get('location')).toBe(`/admin/users/${carol.id}?done=saved`);
      expect(await server.storage.accounts.findById(carol.id)).toMatchObject({ name: 'Carol C', email: null, roles: ['user', 'auditor'] });

      const disabled = await browser.postForm(`${server.url}/admin/users/${carol.id}/disable`, { csrf: hiddenField(page, 'csrf') });
      expect(disabled.status).toBe(303);
      expect((await server.storage.accounts.findById(carol.id))!.disabledAt).not.toBeNull();
      expect((await server.storage.models.list('Grant')).filter((g) => g.payload.accountId === carol.id)).toEqual([]);
      const admin = (await server.storage.accounts.findByUsername('root'))!;
      const events = await waitForEvents('admin.user', 3);
      expect(events.map((e) => e.event)).toEqual(['admin.user.disabled', 'admin.user.updated', 'admin.user.created']);
      expect(events.map((e) => [e.adminId, e.accountId])).toEqual(Array(3).fill([admin.id, carol.id]));
    });

    it('refuses bad input with a 400 and the reason, never a 500', async () => {
      const { browser, page } = await adminBrowser();
      const csrf = hiddenField(page.html, 'csrf');
      const bad = await browser.postForm(`${server.url}/admin/users`, { csrf, username: 'no spaces allowed', roles: '' });
      expect(bad.status).toBe(400);
      expect(await bad.text()).toContain('invalid username');
      const taken = await browser.postForm(`${server.url}/admin/users`, { csrf, username: 'alice' });
      expect(taken.status).toBe(409);
      const role = await browser.postForm(`${server.url}/admin/users`, { csrf, username: 'dave', roles: 'bad<role>' });
      expect(role.status).toBe(400);
      expect(await role.text()).toContain('invalid role &quot;bad&lt;role&gt;&quot;');
      expect((await browser.get(`${server.url}/admin/users/nobody`)).status).toBe(404);
    });

    it('asks for the password again when the sign-in is older than 10 minutes, and does nothing meanwhile', async () => {
      const { browser, page } = await adminBrowser();
      const before = (await server.storage.accounts.findByUsername('alice'))!;
      clockOffset = 11 * 60_000;
      try {
        const response = await browser.postForm(`${server.url}/admin/users/${before.id}/disable`, {
          csrf: hiddenField(page.html, 'csrf'),
          back: '/admin/users',
        });
        expect(response.status).toBe(303);
        const auth = new URL(response.headers.get('location')!, server.url);
        expect(auth.pathname).toBe('/auth');
        expect(auth.searchParams.get('prompt')).toBe('login');
        expect((await server.storage.accounts.findById(before.id))!.disabledAt).toBeNull();
        // Pages can still be read.
        expect((await browser.get(`${server.url}/admin/users`)).status).toBe(200);
        // The password again, though the session is still there; back on the page, the action works.
        clockOffset = 0;
        const { response: login } = await browser.follow(await browser.get(auth.href));
        const html = await login.text();
        expect(html).toContain('name="password"');
        const back = await browser.follow(
          await browser.postForm(new URL(formAction(html, '/login'), server.url).href, {
            csrf: hiddenField(html, 'csrf'),
            username: 'root',
            password: ADMIN_PASSWORD,
          }),
        );
        expect(new URL(back.url).pathname).toBe('/admin/users');
        const again = await browser.postForm(`${server.url}/admin/users/${before.id}/disable`, {
          csrf: hiddenField(await back.response.text(), 'csrf'),
        });
        expect(again.status).toBe(303);
        expect((await server.storage.accounts.findById(before.id))!.disabledAt).not.toBeNull();
        await server.storage.accounts.setDisabled('alice', false);
      } finally {
        clockOffset = 0;
      }
    });
  });

  describe('admin console: clients, grants, sessions, keys, audit, dashboard', () => {
    it('lists clients with where they came from, their last token and active grants; disables, verifies and deletes them', async () => {
      const { browser, page } = await adminBrowser();
      const csrf = hiddenField(page.html, 'csrf');
      await addUser(server, 'erin');
      const dcr = await registerPublicClient(server, { client_name: 'Erin <b>tool</b>' });
      const erin = await loginAndGetTokens(server, { clientId: dcr.client_id, redirectUri: dcr.redirect_uris[0]!, username: 'erin' });
      const machine = await operatorClient('Nightly report');
      const cc = await postForm(
        `${server.url}/token`,
        { grant_type: 'client_credentials', scope: 'mcp:tools', resource: RESOURCE },
        { authorization: `Basic ${Buffer.from(`${machine.client_id}:${machine.client_secret}`).toString('base64')}` },
      );
      expect(cc.status).toBe(200);

      const list = await (await browser.get(`${server.url}/admin/clients`)).text();
      const row = (id: string) => list.split('<tr>').find((r) => r.includes(`<code>${id}</code>`))!;
      expect(row(dcr.client_id)).toContain('<td>DCR</td>');
      expect(row(dcr.client_id)).toContain('Erin &lt;b&gt;tool&lt;/b&gt;');
      expect(row(dcr.client_id)).toContain('http://127.0.0.1:8976/callback');
      expect(row(dcr.client_id)).toMatch(/<td>1<\/td>/);
      expect(row(dcr.client_id)).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d UTC/);
      expect(row(machine.client_id)).toContain('<td>operator</td>');

      const dcrPath = `${server.url}/admin/clients/${encodeURIComponent(dcr.client_id)}`;
      const detail = await (await browser.get(dcrPath)).text();
      expect(detail).toContain('mcp:tools');
      // Its grant and the session that signed in to it, each naming the user.
      expect(detail.match(/>erin<\/a>/g)).toHaveLength(2);
      const disabled = await browser.postForm(`${dcrPath}/disable`, { csrf });
      expect(disabled.status).toBe(303);
      expect((await server.storage.models.find('Client', dcr.client_id))?.[DISABLED]).toBe(true);
      expect(await (await refresh(dcr.client_id, erin.tokens.refresh_token!)).json()).toMatchObject({ error: 'invalid_client' });

      expect((await browser.postForm(`${dcrPath}/verify`, { csrf })).status).toBe(400);
      expect((await browser.postForm(`${server.url}/admin/clients/${machine.client_id}/verify`, { csrf })).status).toBe(303);
      expect((await server.storage.models.find('Client', machine.client_id))?.[VERIFIED]).toBe(true);

      const deleted = await browser.postForm(`${dcrPath}/delete`, { csrf, back: `/admin/clients/${encodeURIComponent(dcr.client_id)}` });
      expect(deleted.headers.get('location')).toBe('/admin/clients?done=deleted');
      expect(await server.storage.models.find('Client', dcr.client_id)).toBeUndefined();
      expect((await server.storage.models.list('Grant')).filter((g) => g.payload.clientId === dcr.client_id)).toEqual([]);
      expect((await browser.get(dcrPath)).status).toBe(404);
      const events = await waitForEvents('admin.client', 3);
      expect(events.map((e) => [e.event, e.clientId])).toEqual([
        ['admin.client.deleted', dcr.client_id],
        ['admin.client.verified', machine.client_id],
        ['admin.client.disabled', dcr.client_id],
      ]);
    });

    it('revokes a grant (its refresh token stops working) and ends a session', async () => {
      const { browser } = await adminBrowser();
      await addUser(server, 'frank');
      const client = await registerPublicClient(server);
      const frank = await loginAndGetTokens(server, {
        clientId: client.client_id,
        redirectUri: client.redirect_uris[0]!,
        username: 'frank',
      });
      const { account, html } = await userPage(browser, 'frank');
      const revoke = formAction(html, '/revoke');
      expect(revoke).toMatch(/^\/admin\/grants\/[^/]+\/revoke$/);
      const revoked = await browser.postForm(`${server.url}${revoke}`, {
        csrf: hiddenField(html, 'csrf'),
        back: `/admin/users/${account.id}`,
      });
      expect(revoked.headers.get('location')).toBe(`/admin/users/${account.id}?done=revoked`);
      expect(await (await refresh(client.client_id, frank.tokens.refresh_token!)).json()).toMatchObject({ error: 'invalid_grant' });

      const after = (await userPage(browser, 'frank')).html;
      expect(after).toContain('No grants.');
      const end = /action="(\/admin\/sessions\/[^"]+\/revoke)"/.exec(after)![1]!;
      expect((await browser.postForm(`${server.url}${end}`, { csrf: hiddenField(after, 'csrf') })).status).toBe(303);
      expect((await server.storage.models.list('Session')).filter((s) => s.payload.accountId === account.id)).toEqual([]);
      expect((await waitForEvents('admin.session.revoked', 1))[0]).toMatchObject({ accountId: account.id });
    });

    it('creates a personal access token for a user (shown once) and revokes it; revocations reach the feed', async () => {
      const { browser } = await adminBrowser();
      const gina = await addUser(server, 'gina');
      const { html } = await userPage(browser, 'gina');
      const csrf = hiddenField(html, 'csrf');
      const created = await browser.postForm(`${server.url}/admin/users/${gina.id}/tokens`, {
        csrf,
        name: 'nightly build',
        scope: 'mcp:tools',
        days: '7',
      });
      expect(created.status).toBe(201);
      const token = /<code id="pat">([^<]+)<\/code>/.exec(await created.text())![1]!;
      expect(token).toMatch(/^mcp_pat_/);
      const [pat] = await server.storage.personalAccessTokens.list(gina.id);
      expect(pat).toMatchObject({ name: 'nightly build', scope: 'mcp:tools', createdBy: expect.stringMatching(/^admin:/) });
      // The page shows it afterwards without the token itself.
      const page = (await userPage(browser, 'gina')).html;
      expect(page).toContain('nightly build');
      expect(page).not.toContain(token);

      // Refused by the data: an admin scope for a user without the role, a taken name, a bad expiry.
      for (const form of [
        { name: 'x', scope: 'mcp:admin', days: '7' },
        { name: 'nightly build', scope: 'mcp:tools', days: '7' },
        { name: 'y', scope: 'mcp:tools', days: '-1' },
      ]) {
        expect((await browser.postForm(`${server.url}/admin/users/${gina.id}/tokens`, { csrf, ...form })).status).toBe(400);
      }

      const revoked = await browser.postForm(`${server.url}/admin/users/${gina.id}/tokens/revoke`, {
        csrf,
        name: 'nightly build',
        back: `/admin/users/${gina.id}`,
      });
      expect(revoked.headers.get('location')).toBe(`/admin/users/${gina.id}?done=pat-revoked`);
      expect(await server.storage.personalAccessTokens.list(gina.id)).toEqual([]);
      expect((await browser.postForm(`${server.url}/admin/users/${gina.id}/tokens/revoke`, { csrf, name: 'nightly build' })).status).toBe(
        400,
      );

      await browser.postForm(`${server.url}/admin/users/${gina.id}/disable`, { csrf });
      const feed = (await server.storage.revocations.recordedSince(0)).map((e) => `${e.type}:${e.id}`);
      expect(feed).toEqual(expect.arrayContaining([`pat:${pat!.id}`, `account:${gina.id}`]));
      // What the earlier tests revoked and disabled is in the feed too.
      expect(feed.some((e) => e.startsWith('grant:'))).toBe(true);
      expect(feed.some((e) => e.startsWith('client:'))).toBe(true);
    });

    it('shows the key states and rotates: too soon is refused (409) unless forced; then the next keys sign, at once', async () => {
      const { browser, page } = await adminBrowser();
      const keys = await openSigningKeys(server.config, server.storage);
      const before = await listSigningKeys(keys);
      const keysPage = await (await browser.get(`${server.url}/admin/keys`)).text();
      for (const key of before) expect(keysPage).toContain(key.kid);
      expect(keysPage).toContain('<strong class="state-next">next</strong>');
      expect(keysPage).toContain('<strong class="state-active">active</strong>');
      const csrf = hiddenField(page.html, 'csrf');

      // The next keys were published moments ago (AUTH_KEY_MIN_NEXT_AGE is 120 s).
      const early = await browser.postForm(`${server.url}/admin/keys/rotate`, { csrf });
      expect(early.status).toBe(409);
      expect(await early.text()).toContain('AUTH_KEY_MIN_NEXT_AGE');
      expect((await listSigningKeys(keys)).map((k) => [k.kid, k.state])).toEqual(before.map((k) => [k.kid, k.state]));

      const rotated = await browser.postForm(`${server.url}/admin/keys/rotate`, { csrf, force: 'yes' });
      expect(rotated.headers.get('location')).toBe('/admin/keys?done=rotated');
      const after = await listSigningKeys(keys);
      const next = before.filter((k) => k.state === 'next').map((k) => k.kid);
      expect(
        after
          .filter((k) => k.state === 'active')
          .map((k) => k.kid)
          .sort(),
      ).toEqual([...next].sort());
      // This instance signs with them at once: a new token's kid is the new active ES256 key.
      const machine = await operatorClient(`Key check ${store}`);
      const token = await postForm(
        `${server.url}/token`,
        { grant_type: 'client_credentials', scope: 'mcp:tools', resource: RESOURCE },
        { authorization: `Basic ${Buffer.from(`${machine.client_id}:${machine.client_secret}`).toString('base64')}` },
      );
      const { access_token } = (await token.json()) as { access_token: string };
      const header = JSON.parse(Buffer.from(access_token.split('.')[0]!, 'base64url').toString()) as { kid: string };
      expect(header.kid).toBe(after.find((k) => k.state === 'active' && k.alg === 'ES256')!.kid);
      expect(await (await browser.get(`${server.url}/admin/keys?done=rotated`)).text()).toContain('Rotated: the next keys sign now');
      const [event] = await waitForEvents('admin.keys.rotated', 1);
      expect(event!.detail).toContain(next[0]!);
      expect(event!.detail).toContain('"force":true');
    });

    it('shows the audit events filtered by user, client and event, escaped', async () => {
      const { browser } = await adminBrowser();
      await fetch(`${server.url}/healthz`);
      const client = await registerPublicClient(server);
      const failed = await loginAndGetTokens(server, {
        clientId: client.client_id,
        redirectUri: client.redirect_uris[0]!,
        username: 'alice',
        password: 'wrong <script>',
      }).catch((error: Error) => error);
      expect(failed).toBeInstanceOf(Error);
      await waitForEvents('login.failed', 1);
      const byEvent = await (await browser.get(`${server.url}/admin/audit?event=login.failed`)).text();
      expect(byEvent).toContain('<code>login.failed</code>');
      expect(byEvent).not.toContain('<code>login.success</code>');
      const byUser = await (await browser.get(`${server.url}/admin/audit?user=root`)).text();
      expect(byUser).toContain('<code>login.success</code>');
      expect(byUser).not.toContain('<code>login.failed</code>');
      const byClient = await (await browser.get(`${server.url}/admin/audit?client=${encodeURIComponent(client.client_id)}`)).text();
      expect(byClient).toContain('<code>login.failed</code>');
      const weird = await browser.get(`${server.url}/admin/audit?event=%3Cscript%3E&user=x`);
      expect(weird.status).toBe(200);
      expect(await weird.text()).toContain('value="&lt;script&gt;"');
      // A NUL would be a database error on PostgreSQL: refused as bad input on both stores.
      for (const path of ['/admin/audit?user=%00', '/admin/users/%00', '/admin/clients/a%00b']) {
        expect((await browser.get(`${server.url}${path}`)).status).toBe(400);
      }
    });

    it('draws tokens per hour by grant type, logins and refusals as SVG without script', async () => {
      const { browser } = await adminBrowser();
      await waitForEvents('grant.success', 2);
      const response = await browser.get(`${server.url}/admin`);
      const html = await response.text();
      expect(html.match(/<svg /g)).toHaveLength(4);
      expect(html).toContain('Token refusals at the resource servers per hour');
      expect(html).toMatch(/authorization_code \(\d+\)/);
      expect(html).toMatch(/client_credentials \(\d+\)/);
      expect(html).toMatch(/ok \(\d+\)/);
      expect(html).toMatch(/failed \(\d+\)/);
      expect(html).toContain('resource_server_token_refusals_total');
      expect(html).not.toMatch(/<script|\sstyle=|\son\w+=/i);
    });
  });
});

describe('admin console behind TLS', () => {
  it('binds its sign-in to the browser with a __Host- cookie (Secure, Path=/, no Domain, HttpOnly, SameSite=Lax)', async () => {
    const port = await freePort();
    const tls = await startAuthServer({ AUTH_PORT: String(port), AUTH_ISSUER: `https://localhost:${port}`, AUTH_TRUST_PROXY: '1' });
    try {
      const response = await fetch(`http://localhost:${port}/admin/users`, {
        headers: { 'x-forwarded-proto': 'https' },
        redirect: 'manual',
      });
      expect(response.status).toBe(303);
      const cookie = response.headers.getSetCookie().find((c) => c.startsWith('__Host-admin-login='));
      expect(cookie).toMatch(/; path=\/;/i);
      expect(cookie).toMatch(/; secure/i);
      expect(cookie).toMatch(/; httponly/i);
      expect(cookie).toMatch(/; samesite=lax/i);
      expect(cookie).not.toMatch(/domain=/i);
      expect(new URL(response.headers.get('location')!, 'https://x').searchParams.get('redirect_uri')).toBe(
        `https://localhost:${port}/admin/callback`,
      );
    } finally {
      await tls.close();
    }
  });
});
