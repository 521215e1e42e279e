import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClientsCli } from '../auth-server/cli/clients.ts';
import { formAction, hiddenField, TestBrowser } from '../auth-server/testing/browser.ts';
import { addUser, freePort, postForm, startAuthServer, type TestAuthServer } from '../auth-server/testing/harness.ts';
import { REFUSAL_REPORT_HEADER } from '../common/refusal-report.ts';
import { MCP_POST_HEADERS, startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

// The resource server's token refusals reach the auth server's admin dashboard with its
// revocation-feed pulls (common/refusal-report.ts). Both servers are real, on loopback; pulls
// are made with the feed's own pull() (the timer calls the same) so nothing waits on a clock.
const RS_ID = 'refusal-report-rs';
const RS_SECRET = 'refusal-report-secret-0123456789abcdef';
const ADMIN_PASSWORD = 'a long admin passphrase here';

let publicResource: string;
let auth: TestAuthServer;
let rs: RunningResourceServer;
let cliEnv: Record<string, string>;

const quiet = () => new Writable({ write: (_c, _e, done) => done() });
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function machineClient(name: string, scope = 'mcp:tools') {
  let out = '';
  const stdout = new Writable({ write: (chunk, _e, done) => void ((out += String(chunk)), done()) });
  const argv = ['add', '--name', name, '--grant', 'client_credentials', '--secret', '--scope', scope, '--json'];
  expect(await runClientsCli(argv, { stdout, stderr: quiet(), env: cliEnv })).toBe(0);
  return JSON.parse(out) as { client_id: string; client_secret: string };
}

async function machineToken(client: { client_id: string; client_secret: string }) {
  const response = await postForm(
    `${auth.url}/token`,
    { grant_type: 'client_credentials', scope: 'mcp:tools', resource: publicResource },
    { authorization: basic(client.client_id, client.client_secret) },
  );
  return ((await response.json()) as { access_token: string }).access_token;
}

/** One tools/call; the status. */
async function call(token: string | undefined, tool = 'whoami') {
  const headers: Record<string, string> = { ...MCP_POST_HEADERS, 'mcp-protocol-version': '2025-11-25' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${rs.url}/mcp`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool, arguments: {} } }),
  });
  await response.body?.cancel();
  return response.status;
}

/** What the auth server recorded for the resource server, summed over the hours: kind → count. */
async function recorded(): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  for (const row of await auth.storage.refusals.hourly(0)) totals[row.kind] = (totals[row.kind] ?? 0) + row.count;
  return totals;
}

/** The refusals of the requests a failed pull saw: one of each kind the test makes. */
async function refuseOneOfEach(token: string) {
  expect(await call(undefined)).toBe(401);
  expect(await call('not-a-token')).toBe(401);
  expect(await call(token, 'admin_report')).toBe(403);
}

function feed() {
  return rs.revocationFeed!;
}

beforeAll(async () => {
  publicResource = `http://127.0.0.1:${await freePort()}/mcp`;
  auth = await startAuthServer({ RS_RESOURCE_URL: publicResource, RS_CLIENT_ID: RS_ID, RS_CLIENT_SECRET: RS_SECRET });
  cliEnv = {
    NODE_ENV: 'test',
    DATA_DIR: auth.config.dataDir,
    KEYS_DIR: auth.config.keysDir,
    AUTH_ISSUER: auth.url,
    RS_RESOURCE_URL: publicResource,
  };
  await addUser(auth, 'root', ['admin'], ADMIN_PASSWORD);
  rs = await startResourceServer({
    RS_RESOURCE_URL: publicResource,
    AUTH_ISSUER: auth.url,
    MCP_STATELESS: '1',
    RS_CLIENT_ID: RS_ID,
    RS_CLIENT_SECRET: RS_SECRET,
    // An hour: only the first pull at start runs by itself; the test pulls when it wants one.
    RS_REVOCATION_POLL_SECONDS: '3600',
  });
  expect(await feed().pull()).toBe(true);
});
afterAll(async () => {
  await rs?.close();
  await auth?.close();
});

describe('token refusals at the resource server reach the admin dashboard', () => {
  it('no token, a bad token and a missing scope are counted, delivered by the next pull once, and drawn on /admin', async () => {
    const token = await machineToken(await machineClient('refusal-caller'));
    expect(await call(token)).toBe(200);
    await refuseOneOfEach(token);
    expect(await call(undefined)).toBe(401);
    expect(await recorded()).toEqual({});

    expect(await feed().pull()).toBe(true);
    const expected = { '401 missing_token': 2, '401 invalid_token': 1, '403 insufficient_scope': 1 };
    expect(await recorded()).toEqual(expected);
    expect((await auth.storage.refusals.hourly(0)).every((row) => row.clientId === RS_ID)).toBe(true);
    // Acknowledged: the next pull carries nothing again.
    expect(await feed().pull()).toBe(true);
    expect(await recorded()).toEqual(expected);

    const browser = new TestBrowser();
    // The ordinary login page first (no session yet), then the dashboard.
    const login = await browser.follow(await browser.get(`${auth.url}/admin`));
    expect(login.url).toContain('/interaction/');
    const form = await login.response.text();
    const posted = await browser.postForm(new URL(formAction(form, '/login'), auth.url).href, {
      csrf: hiddenField(form, 'csrf'),
      username: 'root',
      password: ADMIN_PASSWORD,
    });
    const { response } = await browser.follow(posted);
    expect(response.status).toBe(200);
    const html = await response.text();
    const chart = html.match(/<svg [^>]*aria-label="Token refusals at the resource servers[^"]*"[\s\S]*?<\/svg>/)?.[0];
    expect(chart).toBeDefined();
    expect(chart).toContain('401 missing_token (2)');
    expect(chart).toContain('401 invalid_token (1)');
    expect(chart).toContain('403 insufficient_scope (1)');
    expect(html).toContain(`<code>${RS_ID}</code> (4)`);
    // No token from the requests ever reaches the page.
    expect(html).not.toContain(token);
    expect(html).not.toMatch(/<script|\sstyle=|\son\w+=/i);
  });

  it('a failed pull keeps the counts, and the next successful one delivers them once', async () => {
    const before = await recorded();
    const token = await machineToken(await machineClient('refusal-caller-2'));
    await refuseOneOfEach(token);
    // The auth server refuses this server's credentials for a while (its client is disabled).
    await disableRsClient(true);
    try {
      expect(await feed().pull()).toBe(false);
      expect(await feed().pull()).toBe(false);
      expect(await recorded()).toEqual(before);
      expect(await call(undefined)).toBe(401); // counted meanwhile
    } finally {
      await disableRsClient(false);
    }
    expect(await feed().pull()).toBe(true);
    expect(await feed().pull()).toBe(true);
    expect(await recorded()).toEqual({
      '401 missing_token': before['401 missing_token']! + 2,
      '401 invalid_token': before['401 invalid_token']! + 1,
      '403 insufficient_scope': before['403 insufficient_scope']! + 1,
    });
  });

  it('a malformed report is 400 and records nothing; the feed keeps working for the resource server', async () => {
    const before = await recorded();
    const malformed = [
      'not json',
      '[1]',
      '{"401 invalid_token":-1}',
      '{"401 invalid_token":1.5}',
      '{"401 invalid_token":"3"}',
      '{"401 invalid_token":1e12}',
      '{"500 boom":1}',
      '{"__proto__":1}',
      JSON.stringify({ other: 1, pad: 'x'.repeat(600) }),
    ];
    for (const value of malformed) {
      const response = await fetch(`${auth.url}/revocations`, {
        headers: { authorization: basic(RS_ID, RS_SECRET), [REFUSAL_REPORT_HEADER]: value },
      });
      expect(response.status, value).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
    }
    expect(await recorded()).toEqual(before);
    expect(await call(undefined)).toBe(401);
    expect(await feed().pull()).toBe(true);
    expect((await recorded())['401 missing_token']).toBe(before['401 missing_token']! + 1);
  });

  it('only the resource server may report: another client and no credentials are refused, and nothing is recorded', async () => {
    const before = await recorded();
    const other = await machineClient('not-a-resource-server');
    const report = { [REFUSAL_REPORT_HEADER]: '{"401 invalid_token":1000}' };
    const asOther = await fetch(`${auth.url}/revocations`, {
      headers: { authorization: basic(other.client_id, other.client_secret), ...report },
    });
    expect(asOther.status).toBe(403);
    const wrongSecret = await fetch(`${auth.url}/revocations`, {
      headers: { authorization: basic(RS_ID, 'wrong-secret-0123456789abcdefghijkl'), ...report },
    });
    expect(wrongSecret.status).toBe(401);
    const anonymous = await fetch(`${auth.url}/revocations`, { headers: report });
    expect(anonymous.status).toBe(401);
    expect(await recorded()).toEqual(before);
  });
});

/** The resource server's own client disabled or enabled at the auth server, through the clients CLI. */
async function disableRsClient(disabled: boolean) {
  expect(await runClientsCli([disabled ? 'disable' : 'enable', RS_ID], { stdout: quiet(), stderr: quiet(), env: cliEnv })).toBe(0);
}
