import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { calculateJwkThumbprint, decodeJwt } from 'jose';
import { cli, freshConfigHome, runCli } from './cli.ts';
import { UserAtBrowser, type Credentials } from './login-page.ts';
import { freePort, startStack, type Stack } from './stack.ts';

let stack: Stack;
const bob: Credentials = { username: 'bob', password: 'bob-has-no-admin-role' };
test.beforeAll(async () => {
  stack = await startStack();
  await stack.addUser(bob.username, bob.password);
});
test.afterAll(async () => {
  await stack?.stop();
});

const INTERACTIVE = { MCP_OAUTH_INTERACTIVE: '1' };

async function tokenFiles(configHome: string): Promise<string[]> {
  const dir = join(configHome, 'mcp-oauth-stack', 'tokens');
  return (await readdir(dir)).filter((n) => n.endsWith('.json')).map((n) => join(dir, n));
}
async function onlyTokenFile(configHome: string): Promise<{ path: string; record: Record<string, any> }> {
  const [path, ...more] = await tokenFiles(configHome);
  expect(more).toEqual([]);
  return { path: path!, record: JSON.parse(await readFile(path!, 'utf8')) };
}

/** `login --browser --no-open`: the user opens the printed URL, signs in and allows. */
async function browserLogin(page: Page, configHome: string, who: Credentials, extra: string[] = []) {
  const run = runCli(['login', stack.mcpUrl, '--browser', '--no-open', ...extra], configHome);
  const [url] = await run.waitForStderr(/^http:\/\/\S+\/auth\?\S+$/m);
  const user = new UserAtBrowser(page);
  await page.goto(url);
  await user.signIn(who);
  await user.allow();
  await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();
  expect(await run.exit, run.stderr()).toBe(0);
  return run;
}

test('browser flow: login prints the authorization URL, the user signs in, the loopback callback completes it; a second command uses the cache', async ({
  page,
}) => {
  const home = await freshConfigHome();
  const run = await browserLogin(page, home, stack.demo);
  const url = new URL(/^http:\/\/\S+\/auth\?\S+$/m.exec(run.stderr())![0]);
  expect(url.searchParams.get('code_challenge_method')).toBe('S256');
  expect(url.searchParams.get('resource')).toBe(stack.mcpUrl);
  expect(url.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
  expect(url.searchParams.get('state')).toBeTruthy();
  expect(run.stdout()).toContain(`Signed in to ${stack.mcpUrl} as `);

  // The cache: directory 0700, every file 0600.
  const base = join(home, 'mcp-oauth-stack');
  expect((await stat(base)).mode & 0o777).toBe(0o700);
  for (const sub of ['tokens', 'clients']) {
    expect((await stat(join(base, sub))).mode & 0o777).toBe(0o700);
    for (const name of await readdir(join(base, sub))) expect((await stat(join(base, sub, name))).mode & 0o777).toBe(0o600);
  }

  // No terminal, no prompt: the cached sign-in is enough.
  const tools = await cli(['tools', stack.mcpUrl], home);
  expect(tools.code, tools.stderr).toBe(0);
  expect(tools.stdout).toMatch(/^greet\s+/m);
  expect(tools.stderr).toBe('');

  const status = await cli(['status', '--json'], home);
  const { record } = await onlyTokenFile(home);
  expect(JSON.parse(status.stdout)).toEqual([
    expect.objectContaining({
      server: stack.mcpUrl,
      issuer: stack.issuer,
      user: record.user,
      scopes: expect.arrayContaining(['mcp:tools']),
    }),
  ]);
  for (const secret of [record.access_token, record.refresh_token]) expect(status.stdout).not.toContain(secret);
  expect((await cli(['status'], home)).stdout).toContain(`issuer:  ${stack.issuer}`);
});

test('device flow: login --device prints verification_uri_complete and the user code, the user approves, polling signs in', async ({
  page,
}) => {
  const home = await freshConfigHome();
  const run = runCli(['login', stack.mcpUrl, '--device'], home);
  const [uri] = await run.waitForStderr(/^http:\/\/\S+\/device\?user_code=\S+$/m);
  const [, code] = await run.waitForStderr(/shows the code: (\S+)/);
  expect(new URL(uri).searchParams.get('user_code')).toBe(code);

  const user = new UserAtBrowser(page);
  await page.goto(uri);
  if (await page.getByRole('heading', { name: 'Connect a device' }).isVisible())
    await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('heading', { name: 'Confirm the device' })).toBeVisible();
  await expect(page.locator('.user-code')).toHaveText(code!);
  await page.getByRole('button', { name: 'Continue' }).click();
  await user.signIn(stack.demo);
  await user.allow();
  await expect(page.getByRole('heading', { name: 'Device connected' })).toBeVisible();
  expect(await run.exit, run.stderr()).toBe(0);
  expect((await onlyTokenFile(home)).record.grant).toBe('device_code');

  const call = await cli(['call', stack.mcpUrl, 'greet', '--arg', 'name=Device'], home);
  expect(call.code, call.stderr).toBe(0);
  expect(call.stdout).toMatch(/^Hello, Device!/);
});

test('--dpop: login (device flow) binds the tokens to a cached key, call sends DPoP proofs, the same token as a Bearer is refused, refresh keeps the binding', async ({
  page,
}) => {
  const home = await freshConfigHome();
  const run = runCli(['login', stack.mcpUrl, '--device', '--dpop'], home);
  const [uri] = await run.waitForStderr(/^http:\/\/\S+\/device\?user_code=\S+$/m);
  const user = new UserAtBrowser(page);
  await page.goto(uri);
  if (await page.getByRole('heading', { name: 'Connect a device' }).isVisible())
    await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await user.signIn(stack.demo);
  await user.allow();
  await expect(page.getByRole('heading', { name: 'Device connected' })).toBeVisible();
  expect(await run.exit, run.stderr()).toBe(0);

  // The cache entry holds the private key, 0600 like the rest; the token is bound to its thumbprint.
  const { path, record } = await onlyTokenFile(home);
  expect((await stat(path)).mode & 0o777).toBe(0o600);
  expect(record.token_type.toLowerCase()).toBe('dpop');
  expect(record.dpop_jwk).toMatchObject({ kty: 'EC', crv: 'P-256', d: expect.any(String) });
  const { d: _private, ...publicJwk } = record.dpop_jwk;
  expect(decodeJwt(record.access_token).cnf).toEqual({ jkt: await calculateJwkThumbprint(publicJwk) });

  // A later command without --dpop keeps using DPoP (remembered in the cache entry).
  const call = await cli(['call', stack.mcpUrl, 'greet', '--arg', 'name=Bound', '--verbose'], home);
  expect(call.code, call.stderr).toBe(0);
  expect(call.stdout).toMatch(/^Hello, Bound!/m);
  expect(call.stderr).toContain('authorization: DPoP [redacted]');
  expect(call.stderr).not.toContain('authorization: Bearer');
  expect(call.stderr).not.toContain(record.access_token);
  // --verbose never shows a proof either (a DPoP header has no scheme word to keep).
  expect(call.stderr).toMatch(/^>\s+dpop: \[redacted\]$/m);
  expect(call.stderr).not.toMatch(/dpop: eyJ/);

  // Stolen from the cache and replayed as a plain Bearer token: refused.
  const asBearer = await fetch(stack.mcpUrl, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${record.access_token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
  });
  expect(asBearer.status).toBe(401);

  // A refused access token is refreshed with a proof from the same key: still DPoP-bound.
  expect(record.refresh_token).toBeTruthy();
  await writeFile(path, JSON.stringify({ ...record, access_token: 'not-a-valid-token' }), { mode: 0o600 });
  const again = await cli(['call', stack.mcpUrl, 'whoami'], home);
  expect(again.code, again.stderr).toBe(0);
  const refreshed = JSON.parse(await readFile(path, 'utf8'));
  expect(refreshed.access_token).not.toBe('not-a-valid-token');
  expect(refreshed.dpop_jwk).toEqual(record.dpop_jwk);
  expect(decodeJwt(refreshed.access_token).cnf).toEqual({ jkt: await calculateJwkThumbprint(publicJwk) });

  const out = await cli(['logout', stack.mcpUrl], home);
  expect(out.code, out.stderr).toBe(0);
  expect(out.stdout).toContain('revoked');
});

test('refresh: an access token the server refuses is refreshed on the 401 (rotation), and one about to expire is refreshed before use', async ({
  page,
}) => {
  const home = await freshConfigHome();
  await browserLogin(page, home, stack.demo);
  const { path, record: first } = await onlyTokenFile(home);
  expect(first.refresh_token).toBeTruthy();

  await writeFile(path, JSON.stringify({ ...first, access_token: 'not-a-valid-token' }), { mode: 0o600 });
  const call = await cli(['call', stack.mcpUrl, 'whoami'], home);
  expect(call.code, call.stderr).toBe(0);
  const second = JSON.parse(await readFile(path, 'utf8'));
  expect(second.access_token).not.toBe('not-a-valid-token');
  expect(second.refresh_token, 'rotated').not.toBe(first.refresh_token);

  await writeFile(path, JSON.stringify({ ...second, expires_at: Math.floor(Date.now() / 1000) + 10 }), { mode: 0o600 });
  const verbose = await cli(['tools', stack.mcpUrl, '--verbose'], home);
  expect(verbose.code, verbose.stderr).toBe(0);
  const third = JSON.parse(await readFile(path, 'utf8'));
  expect(third.refresh_token).not.toBe(second.refresh_token);
  expect(verbose.stderr).toMatch(/> POST http:\/\/localhost:\d+\/token/);
  expect(verbose.stderr).not.toMatch(/ 401 /);
  // --verbose shows the exchange but never a token.
  for (const secret of [second.refresh_token, third.access_token, third.refresh_token]) expect(verbose.stderr).not.toContain(secret);
  expect(verbose.stderr).toContain('authorization: Bearer [redacted]');
});

test('two invocations refreshing at once share one rotation (the cache lock): both succeed and the grant survives', async ({ page }) => {
  const home = await freshConfigHome();
  await browserLogin(page, home, stack.demo);
  const { path, record } = await onlyTokenFile(home);
  await writeFile(path, JSON.stringify({ ...record, expires_at: Math.floor(Date.now() / 1000) }), { mode: 0o600 });
  const [a, b] = await Promise.all([cli(['tools', stack.mcpUrl], home), cli(['tools', stack.mcpUrl], home)]);
  expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
  const after = JSON.parse(await readFile(path, 'utf8'));
  const again = await cli(['call', stack.mcpUrl, 'whoami'], home);
  expect(again.code, again.stderr).toBe(0);
  expect(after.refresh_token).not.toBe(record.refresh_token);
});

test('call reverse shows the progress notifications (plain lines without a terminal)', async ({ page }) => {
  const home = await freshConfigHome();
  await browserLogin(page, home, stack.demo);
  const call = await cli(['call', stack.mcpUrl, 'reverse', '--arg', 'text=abc'], home);
  expect(call.code, call.stderr).toBe(0);
  expect(call.stdout.trim()).toContain('cba');
  expect(call.stderr).toMatch(/^progress 1\/\d+ /m);
  expect(call.stderr.match(/^progress /gm)!.length).toBeGreaterThan(1);
});

test('step-up: admin_report with mcp:tools → 403 insufficient_scope → a new sign-in for mcp:tools + mcp:admin → the call succeeds', async ({
  page,
}) => {
  const home = await freshConfigHome();
  await browserLogin(page, home, stack.demo);
  expect((await onlyTokenFile(home)).record.scope.split(' ')).not.toContain('mcp:admin');

  const run = runCli(['call', stack.mcpUrl, 'admin_report', '--no-open'], home, INTERACTIVE);
  const [url] = await run.waitForStderr(/^http:\/\/\S+\/auth\?\S+$/m);
  const requested = new URL(url).searchParams.get('scope')!.split(' ');
  expect(requested).toEqual(expect.arrayContaining(['mcp:tools', 'mcp:admin']));
  const user = new UserAtBrowser(page);
  await page.goto(url);
  await user.expectConsentPage(['mcp:admin']);
  await user.allow();
  expect(await run.exit, run.stderr()).toBe(0);
  expect((await onlyTokenFile(home)).record.scope.split(' ')).toEqual(expect.arrayContaining(['mcp:tools', 'mcp:admin']));
});

test('step-up without a terminal: exits 1 and prints the login command with the wider scope', async ({ page }) => {
  const home = await freshConfigHome();
  await browserLogin(page, home, bob);
  const call = await cli(['call', stack.mcpUrl, 'admin_report'], home);
  expect(call.code).toBe(1);
  expect(call.stderr).toContain(`mcp-oauth login ${stack.mcpUrl}`);
  expect(call.stderr).toContain('mcp:admin');
  expect(call.stderr).not.toMatch(/\n\s+at /);
});

test('logout revokes at the authorization server: the old refresh token is refused afterwards', async ({ page }) => {
  const home = await freshConfigHome();
  await browserLogin(page, home, stack.demo);
  const { record } = await onlyTokenFile(home);
  const out = await cli(['logout', stack.mcpUrl], home);
  expect(out.code, out.stderr).toBe(0);
  expect(out.stdout).toContain('revoked');
  expect(await tokenFiles(home)).toEqual([]);

  const refused = await fetch(`${stack.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: record.refresh_token,
      client_id: record.client_id,
      resource: stack.mcpUrl,
    }),
  });
  expect(refused.status).toBe(400);
  expect(((await refused.json()) as { error: string }).error).toBe('invalid_grant');
  expect((await cli(['status'], home)).stdout).toContain('No sign-ins cached');
});

test('without a terminal and without a sign-in, tools and call exit non-zero and print the login command', async () => {
  const home = await freshConfigHome();
  for (const args of [
    ['tools', stack.mcpUrl],
    ['call', stack.mcpUrl, 'whoami'],
  ]) {
    const out = await cli(args, home);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`mcp-oauth login ${stack.mcpUrl}`);
    expect(out.stderr).not.toMatch(/\n\s+at /);
  }
  // Nothing was registered on the way.
  await expect(readdir(join(home, 'mcp-oauth-stack', 'clients'))).rejects.toThrow();
});

test('bad input gets one clear line and no stack trace', async ({ page }) => {
  const home = await freshConfigHome();
  await browserLogin(page, home, stack.demo);
  const closedPort = await freePort();
  const cases: [string[], number, RegExp][] = [
    [['call', stack.mcpUrl, 'no_such_tool'], 1, /unknown tool "no_such_tool".*tools: .*greet/],
    [['call', stack.mcpUrl, 'greet', '--arg', 'name'], 2, /--arg name: expected key=value/],
    [['call', stack.mcpUrl, 'greet', '--json', '{not json'], 2, /--json is not valid JSON/],
    [['tools', `http://127.0.0.1:${closedPort}/mcp`], 1, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${closedPort}: ECONNREFUSED`)],
    [['tools', `${stack.issuer}/`], 1, /not an MCP server|not a 401 challenge|did not answer like an MCP server/],
    [['tools', 'not a url'], 2, /is not a URL/],
    [['frobnicate'], 2, /unknown command "frobnicate"/],
    [['tools', stack.mcpUrl, '--bogus'], 2, /Unknown option '--bogus'/],
  ];
  for (const [args, code, message] of cases) {
    const out = await cli(args, home);
    expect(out.code, `${args.join(' ')}: ${out.stderr}`).toBe(code);
    expect(out.stderr).toMatch(message);
    expect(out.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
    expect(out.stderr.trim().split('\n').length, args.join(' ')).toBeLessThanOrEqual(2);
  }
});

test.describe('a resource server with MCP_AUTH_DISABLED', () => {
  let open: Stack;
  test.beforeAll(async () => {
    open = await startStack({ MCP_AUTH_DISABLED: 'true' });
  });
  test.afterAll(async () => {
    await open?.stop();
  });

  test('--no-auth lists tools and calls one with no sign-in (global flag before the command)', async () => {
    const home = await freshConfigHome();
    const tools = await cli(['--no-auth', 'tools', open.mcpUrl, '--json'], home);
    expect(tools.code, tools.stderr).toBe(0);
    expect((JSON.parse(tools.stdout) as { name: string }[]).map((t) => t.name)).toContain('greet');
    const call = await cli(['call', open.mcpUrl, 'greet', '--json', '{"name":"Open"}', '--no-auth'], home);
    expect(call.code, call.stderr).toBe(0);
    expect(call.stdout).toMatch(/Hello, Open!/);
  });
});

test('--help: global and per command', async () => {
  const home = await freshConfigHome();
  const global = await cli(['--help'], home);
  expect(global.code).toBe(0);
  expect(global.stdout).toContain('Usage: mcp-oauth <command>');
  const login = await cli(['login', '--help'], home);
  expect(login.stdout).toContain('--device');
});
