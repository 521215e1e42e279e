import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formAction, hiddenField, TestBrowser } from '../auth-server/testing/browser.ts';
import { addUser, registerPublicClient, startAuthServer, type TestAuthServer } from '../auth-server/testing/harness.ts';
import { freePort } from '../common/free-port.ts';
import { startResourceServer, type RunningResourceServer } from '../resource-server/testing/test-server.ts';
import { parse } from './args.ts';
import { discoverAuthorizationServer } from './discovery.ts';
import { deviceGrant, type GrantContext } from './grants.ts';
import { makeFetch } from './http.ts';
import { run } from './main.ts';
import { terminalQr, wantsQr } from './qr.ts';
import { DEVICE_GRANT } from './registration.ts';
import { Store } from './store.ts';

/** The small terminal renderer: half blocks, black on white (ANSI), reset at the end. */
const ESC = '\\x1b';
const QR_LINE = new RegExp(`^${ESC}\\[47m${ESC}\\[30m[ ▀▄█${ESC}[\\d;m]+${ESC}\\[0m$`, 'm');

/** The whole stack in-process: the real auth server and the real resource server on loopback. */
let server: TestAuthServer;
let rs: RunningResourceServer;
let home: string;
beforeAll(async () => {
  const port = await freePort();
  const mcpUrl = `http://127.0.0.1:${port}/mcp`;
  server = await startAuthServer({ RS_RESOURCE_URL: mcpUrl });
  await addUser(server);
  rs = await startResourceServer({ RS_PORT: String(port), RS_RESOURCE_URL: mcpUrl, AUTH_ISSUER: server.url });
  home = await mkdtemp(join(tmpdir(), 'mcp-oauth-qr-'));
});
afterAll(async () => {
  await rs?.close();
  await server?.close();
  await rm(home, { recursive: true, force: true });
});

/** Starts a real device flow at the auth server and stops at the first poll; returns what it printed. */
async function devicePrompt(qr: boolean): Promise<string> {
  const registered = await registerPublicClient(server, {
    grant_types: [DEVICE_GRANT, 'refresh_token'],
    response_types: [],
    redirect_uris: [],
  });
  const fetchImpl = makeFetch(false);
  const lines: string[] = [];
  const ctx: GrantContext = {
    as: await discoverAuthorizationServer(server.config.issuer, fetchImpl),
    client: { issuer: server.config.issuer, client_id: registered.client_id, token_endpoint_auth_method: 'none', kind: 'dcr' },
    resource: rs.mcpUrl,
    scope: 'mcp:tools',
    fetch: fetchImpl,
    say: (line) => lines.push(line),
    qr,
  };
  // Nobody approves: the injected sleep ends the flow where it would start polling.
  await expect(deviceGrant(ctx, () => Promise.reject(new Error('stop polling')))).rejects.toThrow('stop polling');
  return lines.join('\n');
}

describe('QR code of the device flow (RFC 8628 §3.3.1 verification_uri_complete)', () => {
  it('prints a QR block of exactly the printed verification_uri_complete', async () => {
    const output = await devicePrompt(true);
    const uri = /^(http:\/\/\S+\/device\?user_code=\S+)$/m.exec(output)![1]!;
    expect(output).toMatch(QR_LINE);
    // The renderer is deterministic, so the block printed is the one for this URI (and no other).
    const block = await terminalQr(uri);
    expect(await terminalQr(uri)).toBe(block);
    expect(output).toContain(block);
    expect(await terminalQr(`${uri}X`)).not.toBe(block);
    expect(block.split('\n').length).toBeGreaterThan(10);
    // The URL and the code are still there in text, before and after the block.
    expect(output.indexOf(uri)).toBeLessThan(output.indexOf(block));
    expect(output.indexOf(block)).toBeLessThan(output.indexOf('and check that it shows the code:'));
  });

  it('prints none without qr (not a terminal, --no-qr, --json)', async () => {
    const output = await devicePrompt(false);
    expect(output).toMatch(/^http:\/\/\S+\/device\?user_code=\S+$/m);
    expect(output).not.toMatch(QR_LINE);
    expect(output).not.toMatch(/[▀▄█]/);
  });
});

describe('when the QR code is printed', () => {
  it('by default only when stderr is a terminal; --qr forces it, --no-qr turns it off; never with --json', () => {
    expect(wantsQr(parse(['login', 'u']), true)).toBe(true);
    expect(wantsQr(parse(['login', 'u']), false)).toBe(false);
    expect(wantsQr(parse(['login', 'u', '--qr']), false)).toBe(true);
    expect(wantsQr(parse(['login', 'u', '--no-qr']), true)).toBe(false);
    expect(wantsQr(parse(['login', 'u', '--json']), true)).toBe(false);
    expect(wantsQr(parse(['--json', 'login', 'u', '--qr']), true)).toBe(false);
  });

  it('refuses --qr with --no-qr as a usage error', () => {
    expect(() => parse(['login', 'u', '--qr', '--no-qr'])).toThrow(/--qr and --no-qr exclude each other/);
  });
});

/** The user side, over HTTP: enter the code, confirm, sign in, consent. */
async function approve(userCode: string) {
  const browser = new TestBrowser();
  let page = await (await browser.get(`${server.url}/device`)).text();
  page = await (await browser.postForm(`${server.url}/device`, { xsrf: hiddenField(page, 'xsrf'), user_code: userCode })).text();
  let response = await browser.postForm(`${server.url}/device`, {
    xsrf: hiddenField(page, 'xsrf'),
    user_code: hiddenField(page, 'user_code'),
    confirm: 'yes',
  });
  ({ response } = await browser.follow(response));
  page = await response.text();
  response = await browser.postForm(new URL(formAction(page, '/login'), server.url).href, {
    csrf: hiddenField(page, 'csrf'),
    username: 'alice',
    password: 'correct horse battery staple',
  });
  ({ response } = await browser.follow(response));
  page = await response.text();
  response = await browser.postForm(new URL(formAction(page, '/confirm'), server.url).href, { csrf: hiddenField(page, 'csrf') });
  await browser.follow(response);
}

/** `mcp-oauth login <mcp> --device …` through the CLI's entry point; the user approves what it printed. */
async function login(flags: string[], stderrIsTty: boolean) {
  const out: string[] = [];
  const err: string[] = [];
  const dir = await mkdtemp(join(home, 'cache-'));
  const exit = run(['login', rs.mcpUrl, '--device', ...flags], {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    interactive: true,
    stderrIsTty,
    store: new Store(dir),
  });
  await expect.poll(() => err.join('\n'), { timeout: 10_000 }).toMatch(/\/device\?user_code=\S+$/m);
  const userCode = /\/device\?user_code=(\S+)$/m.exec(err.join('\n'))![1]!;
  await approve(decodeURIComponent(userCode));
  expect(await exit, err.join('\n')).toBe(0);
  return { stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('mcp-oauth login --device, end to end', () => {
  it('shows the QR block with --qr though stderr is no terminal, never with --json, and none without a terminal', async () => {
    const [forced, json, plain, terminal] = await Promise.all([
      login(['--qr'], false),
      login(['--json', '--qr'], true),
      login([], false),
      login([], true),
    ]);
    expect(forced.stderr).toMatch(QR_LINE);
    expect(terminal.stderr).toMatch(QR_LINE);
    for (const quiet of [json, plain]) {
      expect(quiet.stderr).toMatch(/device\?user_code=/);
      expect(quiet.stderr + quiet.stdout).not.toMatch(/[▀▄█]/);
    }
    expect(JSON.parse(json.stdout)).toMatchObject({ server: rs.mcpUrl });
  }, 30_000);
});
