import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESOURCE, registerPublicClient, startAuthServer, type TestAuthServer } from '../auth-server/testing/harness.ts';
import { parse } from './args.ts';
import { discoverAuthorizationServer } from './discovery.ts';
import { deviceGrant, type GrantContext } from './grants.ts';
import { makeFetch } from './http.ts';
import { terminalQr, wantsQr } from './qr.ts';
import { DEVICE_GRANT } from './registration.ts';

/** The small terminal renderer: half blocks, black on white (ANSI), reset at the end. */
const ESC = '\\x1b';
const QR_LINE = new RegExp(`^${ESC}\\[47m${ESC}\\[30m[ ▀▄█${ESC}[\\d;m]+${ESC}\\[0m$`, 'm');

let server: TestAuthServer;
beforeAll(async () => {
  server = await startAuthServer();
});
afterAll(() => server?.close());

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
    resource: RESOURCE,
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
