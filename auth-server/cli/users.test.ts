import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStorage } from '../storage/sqlite-store.ts';
import { authorize, loginAndGetTokens, postForm, registerPublicClient, startAuthServer, type TestAuthServer } from '../testing/harness.ts';
import { runUsersCli } from './users.ts';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'purple monkey dishwasher 42';

/** Runs `node auth-server/cli/users.ts …args` as a real child process, with `input` on stdin. */
function runCli(args: string[], input: string, env: Record<string, string>) {
  const child = execFile(process.execPath, [fileURLToPath(new URL('./users.ts', import.meta.url)), ...args], {
    env: { ...process.env, DATABASE_URL: '', ...env },
  });
  child.stdin?.end(input);
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run users', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'auth-users-cli-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Runs the command in-process, as `npm run users -- …argv` would, with `input` on stdin. */
  async function users(argv: string[], input = '', env: Record<string, string> = { DATA_DIR: dataDir }) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out: string[] = [];
    const err: string[] = [];
    stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
    stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
    const code = await runUsersCli(argv, { stdin: Readable.from([input]), stdout, stderr, env });
    return { code, stdout: out.join(''), stderr: err.join('') };
  }

  async function authenticate(username: string, password: string) {
    const storage = openSqliteStorage(dataDir);
    try {
      return await storage.accounts.authenticate(username, password);
    } finally {
      await storage.close();
    }
  }

  it('adds a user with the password from stdin, dropping one trailing newline', async () => {
    const result = await users(
      ['add', 'alice', '--password-stdin', '--name', 'Alice Liddell', '--email', 'alice@example.com', '--role', 'admin', '--role', 'user'],
      `${PASSWORD}\n`,
    );
    expect(result).toEqual({ code: 0, stdout: expect.stringMatching(/^added alice \(sub [\w-]{22}\)\n$/), stderr: '' });
    const alice = await authenticate('alice', PASSWORD);
    expect(alice).toMatchObject({ name: 'Alice Liddell', email: 'alice@example.com', roles: ['admin', 'user'] });
    expect(await authenticate('alice', `${PASSWORD}\n`)).toBeUndefined();
  });

  it('keeps a password that has no trailing newline as it is', async () => {
    expect((await users(['add', 'bob', '--password-stdin'], PASSWORD)).code).toBe(0);
    expect(await authenticate('bob', PASSWORD)).toBeDefined();
  });

  it('refuses an empty password with exit code 1 and creates nothing', async () => {
    const result = await users(['add', 'alice', '--password-stdin'], '\n');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('empty password');
    expect((await users(['list'])).stdout).toContain('no accounts yet');
  });

  it('refuses a duplicate username, whatever its case, with exit code 1', async () => {
    await users(['add', 'alice', '--password-stdin'], PASSWORD);
    const result = await users(['add', 'ALICE', '--password-stdin'], NEW_PASSWORD);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('already exists');
  });

  it('refuses an invalid username with exit code 1 and says why', async () => {
    const result = await users(['add', 'alice smith', '--password-stdin'], PASSWORD);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('invalid username');
  });

  it('lists accounts as a table of username, name, email, roles, status and id', async () => {
    await users(['add', 'bob', '--password-stdin'], PASSWORD);
    await users(['add', 'alice', '--password-stdin', '--name', 'Alice', '--role', 'admin'], PASSWORD);
    await users(['disable', 'bob']);
    const result = await users(['list']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^USERNAME\s+NAME\s+EMAIL\s+ROLES\s+STATUS\s+ID\s+LINKS$/);
    expect(lines[1]).toMatch(/^alice\s+Alice\s+-\s+admin\s+active\s+[\w-]{22}$/);
    expect(lines[2]).toMatch(/^bob\s+-\s+-\s+-\s+disabled\s+[\w-]{22}$/);
  });

  it('lists the upstream identities linked to an account as provider:subject', async () => {
    await users(['add', 'carol', '--password-stdin'], PASSWORD);
    const storage = openSqliteStorage(dataDir);
    try {
      const carol = await storage.accounts.findByUsername('carol');
      await storage.accounts.addLink({ providerId: 'google', subject: '1093', accountId: carol!.id, createdAccount: false });
      await storage.accounts.addLink({ providerId: 'github', subject: '42', accountId: carol!.id, createdAccount: false });
    } finally {
      await storage.close();
    }
    const lines = (await users(['list'])).stdout.trimEnd().split('\n');
    expect(lines[1]).toMatch(/^carol\s+-\s+-\s+-\s+active\s+[\w-]{22}\s+(github:42,google:1093|google:1093,github:42)$/);
  });

  it('removes a user, and fails with exit code 1 for an unknown one', async () => {
    await users(['add', 'alice', '--password-stdin'], PASSWORD);
    expect(await users(['remove', 'Alice'])).toMatchObject({ code: 0, stdout: 'removed Alice\n' });
    expect(await users(['remove', 'alice'])).toMatchObject({ code: 1, stderr: 'users: no account named "alice"\n' });
  });

  it('answers bad usage with the usage text and exit code 2', async () => {
    for (const argv of [
      [],
      ['frobnicate'],
      ['add'],
      ['add', 'a', 'b', '--password-stdin'],
      ['list', 'extra'],
      ['list', '--role', 'x'],
      ['add', 'a', '--bogus'],
      ['set-password'],
      ['set-password', 'a', '--role', 'admin', '--password-stdin'],
      ['disable'],
      ['disable', 'a', 'b'],
      ['enable', 'a', '--password-stdin'],
    ]) {
      const result = await users(argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr, argv.join(' ')).toContain('usage: npm run users');
    }
  });

  it('asks for --password-stdin when stdin is not a terminal', async () => {
    const result = await users(['add', 'alice'], PASSWORD);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('add needs --password-stdin');
    const again = await users(['set-password', 'alice'], PASSWORD);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('set-password needs --password-stdin');
  });

  it('prints help on --help with exit code 0, naming every command', async () => {
    const result = await users(['--help']);
    expect(result.code).toBe(0);
    for (const usage of [
      'add <username> --password-stdin',
      'set-password <username> --password-stdin',
      'disable <username>',
      'enable <username>',
      'list',
      'remove <username>',
    ]) {
      expect(result.stdout).toContain(usage);
    }
  });

  it('reads storage settings through the server’s schema: a bad one is refused by name, and nothing is created', async () => {
    for (const [name, value] of [
      ['DATABASE_URL', 'mysql://db/auth'],
      ['AUTH_SQLITE_SYNCHRONOUS', 'sometimes'],
      ['DATABASE_POOL_SIZE', 'many'],
    ]) {
      const result = await users(['list'], '', { DATA_DIR: dataDir, [name!]: value! });
      expect(result.code, name).toBe(1);
      expect(result.stderr, name).toMatch(new RegExp(`^users: cannot open storage: invalid configuration:\n {2}- ${name}: `));
    }
    expect(existsSync(join(dataDir, 'auth.db'))).toBe(false);
  });

  it('works as a real command: node auth-server/cli/users.ts', async () => {
    const run = (args: string[], input = '') => runCli(args, input, { DATA_DIR: dataDir });
    expect(await run(['add', 'alice', '--password-stdin', '--role', 'admin'], `${PASSWORD}\n`)).toMatchObject({ code: 0, stderr: '' });
    expect(await run(['add', 'alice', '--password-stdin'], `${PASSWORD}\n`)).toMatchObject({ code: 1 });
    const listed = await run(['list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^alice\s+-\s+-\s+admin\s+active\s+[\w-]{22}$/m);
    expect(await authenticate('alice', PASSWORD)).toBeDefined();
  });

  describe('password policy (real command)', () => {
    const run = (args: string[], input = '') => runCli(args, input, { DATA_DIR: dataDir });

    it('refuses a password under 8 characters with exit code 1 and one line, and stores nothing', async () => {
      expect(await run(['add', 'alice', '--password-stdin'], 's3cr3t!\n')).toEqual({
        code: 1,
        stdout: '',
        stderr: 'users: password refused: use at least 8 characters\n',
      });
      expect((await run(['list'])).stdout).toContain('no accounts yet');
    });

    it('refuses a password over 256 characters', async () => {
      const result = await run(['add', 'alice', '--password-stdin'], 'x'.repeat(257));
      expect(result).toMatchObject({ code: 1, stderr: 'users: password refused: use at most 256 characters\n' });
      expect((await run(['list'])).stdout).toContain('no accounts yet');
    });

    it('refuses a common password, whatever its case', async () => {
      for (const common of ['password1', 'Iloveyou', 'QWERTYUIOP']) {
        expect(await run(['add', 'alice', '--password-stdin'], common), common).toMatchObject({
          code: 1,
          stderr: 'users: password refused: it is on the list of the most common passwords; choose another\n',
        });
      }
      expect((await run(['list'])).stdout).toContain('no accounts yet');
    });

    it('refuses a password under 15 characters for an account with the admin role only', async () => {
      const fourteen = 'xq7#mv2p-Lr9zk';
      expect(await run(['add', 'root', '--password-stdin', '--role', 'admin'], fourteen)).toMatchObject({
        code: 1,
        stderr: 'users: password refused: accounts with the admin role need at least 15 characters\n',
      });
      expect(await run(['add', 'bob', '--password-stdin', '--role', 'user'], fourteen)).toMatchObject({ code: 0 });
      // set-password applies the rule of the account's own roles.
      await run(['add', 'root', '--password-stdin', '--role', 'admin'], PASSWORD);
      expect(await run(['set-password', 'root', '--password-stdin'], fourteen)).toMatchObject({
        code: 1,
        stderr: expect.stringContaining('admin role'),
      });
      expect(await authenticate('root', PASSWORD)).toBeDefined();
    });

    it('refuses a weak new password in set-password and keeps the old one', async () => {
      await run(['add', 'alice', '--password-stdin'], PASSWORD);
      expect(await run(['set-password', 'alice', '--password-stdin'], 'sunshine')).toMatchObject({
        code: 1,
        stderr: expect.stringContaining('most common'),
      });
      expect(await run(['set-password', 'alice', '--password-stdin'], 'short')).toMatchObject({
        code: 1,
        stderr: expect.stringContaining('at least 8'),
      });
      expect(await authenticate('alice', PASSWORD)).toBeDefined();
    });

    it('answers an unknown user with exit code 1 and a clear message, for every command that names one', async () => {
      for (const [args, input] of [
        [['set-password', 'nobody', '--password-stdin'], NEW_PASSWORD],
        [['disable', 'nobody'], ''],
        [['enable', 'nobody'], ''],
        [['remove', 'nobody'], ''],
      ] as const) {
        expect(await run([...args], input), args.join(' ')).toEqual({ code: 1, stdout: '', stderr: 'users: no account named "nobody"\n' });
      }
    });
  });
});

for (const store of ['sqlite', 'postgres'] as const) {
  describe(`npm run users against a running auth server (${store})`, () => {
    let server: TestAuthServer;
    let run: (args: string[], input?: string) => ReturnType<typeof runCli>;

    beforeEach(async () => {
      server = await startAuthServer({}, { store });
      // The command opens the same store the server uses, as an operator's shell would.
      const env: Record<string, string> =
        store === 'postgres' ? { DATABASE_URL: server.config.databaseUrl! } : { DATA_DIR: server.config.dataDir };
      run = (args, input = '') => runCli(args, input, env);
    });
    afterEach(() => server?.close());

    /** A client, and a signed-in browser with tokens, for alice. */
    async function signIn(password: string) {
      const client = await registerPublicClient(server);
      const options = { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, username: 'alice', password };
      return { client, options, ...(await loginAndGetTokens(server, options)) };
    }

    function refresh(clientId: string, refreshToken: string) {
      return postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });
    }

    /** The error line of the login page. */
    function loginError(html: string | undefined) {
      return /role="alert">([^<]*)</.exec(html ?? '')?.[1];
    }

    it('set-password: the new password signs in, the old one no longer does, and old sessions and refresh tokens end', async () => {
      expect((await run(['add', 'alice', '--password-stdin'], PASSWORD)).code).toBe(0);
      const before = await signIn(PASSWORD);

      const changed = await run(['set-password', 'Alice', '--password-stdin'], `${NEW_PASSWORD}\n`);
      expect(changed).toMatchObject({ code: 0, stderr: '' });
      expect(changed.stdout).toMatch(
        /^set the password of alice; signed out everywhere \(\d+ session, grant and token records? removed\)\n$/,
      );

      const withOld = await authorize(server, { ...before.options, password: PASSWORD });
      expect(withOld.callback).toBeUndefined();
      expect(withOld.status).toBe(401);
      const withNew = await loginAndGetTokens(server, { ...before.options, password: NEW_PASSWORD });
      expect(withNew.tokens.access_token).toBeTypeOf('string');

      // The browser that signed in with the old password is asked to sign in again …
      const oldBrowser = await authorize(server, { ...before.options, browser: before.browser, password: 'not the password at all' });
      expect(oldBrowser.callback).toBeUndefined();
      expect(loginError(oldBrowser.html)).toBe('Wrong username or password, or the account is disabled.');
      // … and the refresh token issued before the change is dead.
      const refreshed = await refresh(before.client.client_id, before.tokens.refresh_token!);
      expect(refreshed.status).toBe(400);
      expect(await refreshed.json()).toMatchObject({ error: 'invalid_grant' });
    });

    it('disable: the right password is refused with the same message as an unknown user, old tokens die; enable: signing in works again', async () => {
      expect((await run(['add', 'alice', '--password-stdin'], PASSWORD)).code).toBe(0);
      const before = await signIn(PASSWORD);

      const disabled = await run(['disable', 'alice']);
      expect(disabled).toMatchObject({ code: 0, stderr: '' });
      expect(disabled.stdout).toMatch(/^disabled alice; signed out everywhere/);
      expect((await run(['list'])).stdout).toMatch(/^alice\s.*\sdisabled\s/m);

      const refused = await authorize(server, before.options);
      expect(refused.callback).toBeUndefined();
      expect(refused.status).toBe(401);
      const unknownUser = await authorize(server, { ...before.options, username: 'nobody' });
      expect(loginError(refused.html)).toBe('Wrong username or password, or the account is disabled.');
      expect(loginError(refused.html)).toBe(loginError(unknownUser.html));
      // The browser session from before does not carry on either: it gets the login page (not the
      // server_error a live session of an account oidc-provider cannot find would cause).
      const oldBrowser = await authorize(server, { ...before.options, browser: before.browser });
      expect(oldBrowser.callback).toBeUndefined();
      expect(loginError(oldBrowser.html)).toBe('Wrong username or password, or the account is disabled.');
      expect((await refresh(before.client.client_id, before.tokens.refresh_token!)).status).toBe(400);

      expect(await run(['enable', 'ALICE'])).toMatchObject({ code: 0, stdout: 'enabled alice\n', stderr: '' });
      const after = await loginAndGetTokens(server, before.options);
      expect(after.tokens.access_token).toBeTypeOf('string');
    });

    it('remove: a browser still signed in as the removed user gets the login page, not an error', async () => {
      expect((await run(['add', 'alice', '--password-stdin'], PASSWORD)).code).toBe(0);
      const before = await signIn(PASSWORD);
      expect(await run(['remove', 'alice'])).toMatchObject({ code: 0, stdout: 'removed alice\n' });
      const oldBrowser = await authorize(server, { ...before.options, browser: before.browser });
      expect(oldBrowser.status).toBe(401);
      expect(loginError(oldBrowser.html)).toBe('Wrong username or password, or the account is disabled.');
    });
  });
}
