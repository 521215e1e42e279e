import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../common/free-port.ts';
import { parse, toolArguments } from './args.ts';
import { canOpenBrowser } from './browser.ts';
import { idJagSource } from './commands.ts';
import { parseChallenges, resourceCovers } from './discovery.ts';
import { checkTransport, makeFetch, redact } from './http.ts';

describe('what the client refuses and hides', () => {
  it('redacts tokens, codes and secrets in logged bodies and URLs', () => {
    const body = JSON.stringify({ access_token: 'AT', refresh_token: 'RT', token_type: 'Bearer', expires_in: 600 });
    expect(redact(body)).toBe('{"access_token":"[redacted]","refresh_token":"[redacted]","token_type":"Bearer","expires_in":600}');
    expect(redact('grant_type=refresh_token&refresh_token=RT&client_secret=S&code=C&code_verifier=V')).toBe(
      'grant_type=refresh_token&refresh_token=[redacted]&client_secret=[redacted]&code=[redacted]&code_verifier=[redacted]',
    );
    expect(redact('http://127.0.0.1:1/callback?code=C&state=s')).toBe('http://127.0.0.1:1/callback?code=[redacted]&state=s');
  });

  it('--verbose logs the exchange with the Authorization header redacted', async () => {
    const lines: string[] = [];
    const logging = makeFetch(true, (l) => lines.push(l));
    await logging('http://127.0.0.1:9/', { headers: { authorization: 'Bearer SECRET' } }).catch(() => undefined);
    expect(lines).toContain('>   authorization: Bearer [redacted]');
    expect(lines.join('\n')).not.toContain('SECRET');
  });

  it('says which server it cannot reach, as a CliError', async () => {
    const port = await freePort(); // free, so nothing listens
    await expect(makeFetch(false)(`http://127.0.0.1:${port}/mcp`)).rejects.toThrow(`cannot reach http://127.0.0.1:${port}: ECONNREFUSED`);
  });

  it('accepts plain http on loopback only', () => {
    for (const url of ['http://localhost:3001/mcp', 'http://127.0.0.1/x', 'http://[::1]:3/', 'https://mcp.example.com/mcp'])
      expect(() => checkTransport(new URL(url), 'x')).not.toThrow();
    for (const url of ['http://mcp.example.com/mcp', 'http://10.0.0.1/mcp', 'http://localhost.example.com/', 'ftp://localhost/'])
      expect(() => checkTransport(new URL(url), 'x')).toThrow(/not https/);
  });

  it('takes a PRM resource only for the server it called (same origin, path prefix)', () => {
    const mcp = new URL('http://localhost:3001/mcp');
    expect(resourceCovers('http://localhost:3001/mcp', mcp)).toBe(true);
    expect(resourceCovers('http://localhost:3001/', mcp)).toBe(true);
    expect(resourceCovers('http://localhost:3001', mcp)).toBe(true);
    expect(resourceCovers('http://localhost:3002/mcp', mcp)).toBe(false);
    expect(resourceCovers('https://localhost:3001/mcp', mcp)).toBe(false);
    expect(resourceCovers('http://localhost:3001/mc', mcp)).toBe(false);
    expect(resourceCovers('http://localhost:3001/other', mcp)).toBe(false);
    expect(resourceCovers('not a url', mcp)).toBe(false);
  });

  it('parses Bearer and DPoP challenges with quoted and bare values', () => {
    expect(
      parseChallenges(
        'Bearer error="insufficient_scope", scope="mcp:tools mcp:admin", resource_metadata="http://h/.well-known/x", DPoP algs="ES256"',
      ),
    ).toEqual([
      { scheme: 'bearer', error: 'insufficient_scope', scope: 'mcp:tools mcp:admin', resource_metadata: 'http://h/.well-known/x' },
      { scheme: 'dpop', algs: 'ES256' },
    ]);
    expect(parseChallenges('Bearer error=invalid_token')).toEqual([{ scheme: 'bearer', error: 'invalid_token' }]);
    expect(parseChallenges('Bearer realm="a \\"b\\""')).toEqual([{ scheme: 'bearer', realm: 'a "b"' }]);
  });

  it('chooses the device flow where no browser can open', () => {
    expect(canOpenBrowser({ SSH_CONNECTION: '1 2 3 4' }, 'darwin')).toBe(false);
    expect(canOpenBrowser({}, 'linux')).toBe(false);
    expect(canOpenBrowser({ DISPLAY: ':0' }, 'linux')).toBe(true);
    expect(canOpenBrowser({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux')).toBe(true);
    expect(canOpenBrowser({ BROWSER: 'firefox', SSH_TTY: '/dev/pts/1' }, 'linux')).toBe(true);
    expect(canOpenBrowser({}, 'darwin')).toBe(true);
  });
});

describe('the command line', () => {
  it('takes global flags before or after the command', () => {
    expect(parse(['--json', 'tools', 'http://h/mcp', '--verbose'])).toMatchObject({
      command: 'tools',
      json: true,
      verbose: true,
      positionals: ['http://h/mcp'],
    });
    expect(parse(['tools', 'http://h/mcp', '--no-auth'])).toMatchObject({ noAuth: true });
  });

  it("tells call's --json '{…}' (arguments) from the --json output switch", () => {
    expect(parse(['call', 'u', 't', '--json', '{"a":1}'])).toMatchObject({ json: false, argsJson: '{"a":1}' });
    expect(parse(['call', 'u', 't', '--json'])).toMatchObject({ json: true, argsJson: undefined });
  });

  it('refuses unknown commands and options, and --device with --browser, as usage errors (exit 2)', () => {
    expect(() => parse(['frob'])).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/unknown command "frob"/) }),
    );
    expect(() => parse(['tools', '--nope'])).toThrow(expect.objectContaining({ exitCode: 2 }));
    expect(() => parse(['login', 'u', '--device', '--browser'])).toThrow(/exclude each other/);
  });

  it('types --arg values by the input schema and refuses malformed ones', () => {
    const schema = { properties: { name: { type: 'string' }, count: { type: 'integer' }, loud: { type: 'boolean' } } };
    expect(toolArguments(['name=3', 'count=3', 'loud=true'], undefined, schema)).toEqual({ name: '3', count: 3, loud: true });
    expect(toolArguments(['count=2'], '{"name":"x"}', schema)).toEqual({ name: 'x', count: 2 });
    expect(toolArguments(['a=b=c'], undefined, schema)).toEqual({ a: 'b=c' });
    expect(() => toolArguments(['name'], undefined, schema)).toThrow(/expected key=value/);
    expect(() => toolArguments(['=x'], undefined, schema)).toThrow(/expected key=value/);
    expect(() => toolArguments(['count=many'], undefined, schema)).toThrow(/count is a integer, give it as JSON/);
    expect(() => toolArguments([], '[1]', schema)).toThrow(/must be a JSON object/);
    expect(() => toolArguments([], '{', schema)).toThrow(/not valid JSON/);
  });
});

describe('Enterprise-Managed Authorization options (--id-jag-idp, --id-token)', () => {
  const login = (...extra: string[]) => parse(['login', 'http://localhost:3001/mcp', ...extra]);

  it('reads the ID token from its file (trimmed) and keeps the IdP token endpoint and client ID', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'id-jag-'));
    try {
      await writeFile(join(dir, 'id.jwt'), 'header.payload.signature\n');
      const source = await idJagSource(
        login('--id-jag-idp', 'https://idp.example.com/token', '--id-token', join(dir, 'id.jwt'), '--idp-client-id', 'idp-client'),
      );
      expect(source).toEqual({
        tokenEndpoint: 'https://idp.example.com/token',
        idToken: 'header.payload.signature',
        idpClientId: 'idp-client',
      });
      expect(await idJagSource(login())).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses one without the other, a non-URL, plain http off loopback and --client-credentials, as usage errors', async () => {
    await expect(idJagSource(login('--id-jag-idp', 'https://idp.example.com/token'))).rejects.toMatchObject({
      message: '--id-jag-idp and --id-token go together',
      exitCode: 2,
    });
    await expect(idJagSource(login('--id-token', '/nonexistent'))).rejects.toThrow('--id-jag-idp and --id-token go together');
    await expect(idJagSource(login('--id-jag-idp', 'idp', '--id-token', '/x'))).rejects.toThrow('is not a URL');
    await expect(idJagSource(login('--id-jag-idp', 'http://idp.example.com/token', '--id-token', '/x'))).rejects.toThrow(/not https/);
    await expect(
      idJagSource(login('--id-jag-idp', 'https://idp.example.com/token', '--id-token', '/x', '--client-credentials')),
    ).rejects.toThrow('exclude each other');
    await expect(idJagSource(login('--idp-client-secret', 's'))).rejects.toMatchObject({
      message: '--idp-client-id and --idp-client-secret go with --id-jag-idp',
      exitCode: 2,
    });
  });

  it('says which ID token file it cannot read, and refuses an empty one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'id-jag-'));
    try {
      const missing = join(dir, 'missing.jwt');
      await expect(idJagSource(login('--id-jag-idp', 'https://idp.example.com/token', '--id-token', missing))).rejects.toThrow(
        `cannot read the ID token ${missing}`,
      );
      await writeFile(join(dir, 'empty.jwt'), '\n');
      await expect(
        idJagSource(login('--id-jag-idp', 'https://idp.example.com/token', '--id-token', join(dir, 'empty.jwt'))),
      ).rejects.toThrow('is empty');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
