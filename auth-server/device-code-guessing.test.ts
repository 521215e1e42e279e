import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hiddenField, TestBrowser } from './testing/browser.ts';
import { postForm, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

async function newUserCode(server: TestAuthServer): Promise<string> {
  const client = await registerPublicClient(server, { grant_types: [DEVICE_GRANT], response_types: [], redirect_uris: [] });
  const response = await postForm(`${server.url}/device/auth`, { client_id: client.client_id, scope: 'mcp:tools' });
  return ((await response.json()) as { user_code: string }).user_code;
}

/** Opens the code page (a browser session with its form token) and submits `code` from `ip`. */
async function enterCode(server: TestAuthServer, browser: TestBrowser, code: string, ip: string): Promise<Response> {
  const page = await (await browser.get(`${server.url}/device`, { 'x-forwarded-for': ip })).text();
  return browser.postForm(`${server.url}/device`, { xsrf: hiddenField(page, 'xsrf'), user_code: code }, { 'x-forwarded-for': ip });
}

/** Codes that exist nowhere (base-20 charset, the ****-**** mask). */
const wrongCode = (i: number) => `BBBB-${'BCDFGHJKLMNPQRSTVWXZ'[i % 20]}${'BCDFGHJKLMNPQRSTVWXZ'[Math.floor(i / 20) % 20]}BB`;

async function expectLocked(response: Response) {
  expect(response.status).toBe(429);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(response.headers.get('content-type')).toContain('text/html');
  expect(await response.text()).toContain('Too many wrong codes');
}

describe('device code guessing (RFC 8628 §5.1)', () => {
  let server: TestAuthServer;
  beforeAll(async () => {
    // AUTH_TRUST_PROXY lets the test play several client ips; the limit is the default (10 per 5 minutes).
    server = await startAuthServer({ AUTH_TRUST_PROXY: '1' });
  });
  afterAll(() => server?.close());

  it('allows 10 wrong codes per ip, then answers 429 with Retry-After and a friendly page, even for a real code', async () => {
    const ip = '198.51.100.10';
    // A fresh browser session each time: the per-ip count is what stops this.
    for (let i = 0; i < 10; i++) expect((await enterCode(server, new TestBrowser(), wrongCode(i), ip)).status).toBe(400);
    await expectLocked(await enterCode(server, new TestBrowser(), wrongCode(10), ip));
    await expectLocked(await enterCode(server, new TestBrowser(), await newUserCode(server), ip));
    // Another ip is not affected.
    const other = await enterCode(server, new TestBrowser(), await newUserCode(server), '198.51.100.11');
    expect(other.status).toBe(200);
    expect(await other.text()).toContain('Confirm the device');
  });

  it('allows 10 wrong codes per browser session, whatever ip each comes from', async () => {
    const browser = new TestBrowser();
    for (let i = 0; i < 10; i++) expect((await enterCode(server, browser, wrongCode(i), `203.0.113.${i + 1}`)).status).toBe(400);
    await expectLocked(await enterCode(server, browser, wrongCode(10), '203.0.113.99'));
    // A new browser from that ip still gets in.
    expect((await enterCode(server, new TestBrowser(), await newUserCode(server), '203.0.113.99')).status).toBe(200);
  });

  it('counts a parallel burst before checking any code: 30 guesses at once, 10 checked', async () => {
    const ip = '198.51.100.30';
    const browsers = Array.from({ length: 30 }, () => new TestBrowser({ 'x-forwarded-for': ip }));
    const pages = await Promise.all(browsers.map(async (b) => (await b.get(`${server.url}/device`)).text()));
    const responses = await Promise.all(
      browsers.map((b, i) => b.postForm(`${server.url}/device`, { xsrf: hiddenField(pages[i]!, 'xsrf'), user_code: wrongCode(i) })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 400)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
  });

  it('does not count right codes: a user who mistypes and then approves keeps her attempts', async () => {
    const ip = '198.51.100.40';
    const browser = new TestBrowser();
    for (let i = 0; i < 9; i++) expect((await enterCode(server, browser, wrongCode(i), ip)).status).toBe(400);
    for (let i = 0; i < 3; i++) {
      const confirm = await enterCode(server, browser, await newUserCode(server), ip);
      expect(confirm.status).toBe(200);
      const page = await confirm.text();
      // Confirming posts the code again; that is not a guess either.
      const next = await browser.postForm(
        `${server.url}/device`,
        { xsrf: hiddenField(page, 'xsrf'), user_code: hiddenField(page, 'user_code'), confirm: 'yes' },
        { 'x-forwarded-for': ip },
      );
      expect(next.status).toBe(303);
    }
    expect((await enterCode(server, browser, wrongCode(9), ip)).status).toBe(400);
    await expectLocked(await enterCode(server, browser, wrongCode(10), ip));
  });
});

describe('device code guessing limits shared through PostgreSQL', () => {
  it('counts wrong codes from one ip across two auth-server instances, in the migrated rate-limit table', async () => {
    const env = { AUTH_DEVICE_CODE_MAX_FAILURES: '3', AUTH_DEVICE_CODE_WINDOW_SECONDS: '60' };
    const a = await startAuthServer(env, { store: 'postgres' });
    const b = await startAuthServer({ ...env, DATABASE_URL: a.config.databaseUrl! });
    try {
      const statuses = [];
      for (const [i, server] of [a, b, a].entries())
        statuses.push((await enterCode(server, new TestBrowser(), wrongCode(i), '127.0.0.1')).status);
      expect(statuses).toEqual([400, 400, 400]);
      await expectLocked(await enterCode(b, new TestBrowser(), wrongCode(3), '127.0.0.1'));
    } finally {
      await b.close();
      await a.close();
    }
  });
});
