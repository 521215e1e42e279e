import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStorage } from '../storage/sqlite-store.ts';
import { runUsersCli } from './users.ts';

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
      'correct horse\n',
    );
    expect(result).toEqual({ code: 0, stdout: expect.stringMatching(/^added alice \(sub [\w-]{22}\)\n$/), stderr: '' });
    const alice = await authenticate('alice', 'correct horse');
    expect(alice).toMatchObject({ name: 'Alice Liddell', email: 'alice@example.com', roles: ['admin', 'user'] });
    expect(await authenticate('alice', 'correct horse\n')).toBeUndefined();
  });

  it('keeps a password that has no trailing newline as it is', async () => {
    expect((await users(['add', 'bob', '--password-stdin'], 'pw')).code).toBe(0);
    expect(await authenticate('bob', 'pw')).toBeDefined();
  });

  it('refuses an empty password with exit code 1 and creates nothing', async () => {
    const result = await users(['add', 'alice', '--password-stdin'], '\n');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('empty password');
    expect((await users(['list'])).stdout).toContain('no accounts yet');
  });

  it('refuses a duplicate username, whatever its case, with exit code 1', async () => {
    await users(['add', 'alice', '--password-stdin'], 'pw');
    const result = await users(['add', 'ALICE', '--password-stdin'], 'other');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('already exists');
  });

  it('refuses an invalid username with exit code 1 and says why', async () => {
    const result = await users(['add', 'alice smith', '--password-stdin'], 'pw');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('invalid username');
  });

  it('lists accounts as a table of username, name, email, roles and id', async () => {
    await users(['add', 'bob', '--password-stdin'], 'pw');
    await users(['add', 'alice', '--password-stdin', '--name', 'Alice', '--role', 'admin'], 'pw');
    const result = await users(['list']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^USERNAME\s+NAME\s+EMAIL\s+ROLES\s+ID$/);
    expect(lines[1]).toMatch(/^alice\s+Alice\s+-\s+admin\s+[\w-]{22}$/);
    expect(lines[2]).toMatch(/^bob\s+-\s+-\s+-\s+[\w-]{22}$/);
  });

  it('removes a user, and fails with exit code 1 for an unknown one', async () => {
    await users(['add', 'alice', '--password-stdin'], 'pw');
    expect(await users(['remove', 'Alice'])).toMatchObject({ code: 0, stdout: 'removed Alice\n' });
    expect(await users(['remove', 'alice'])).toMatchObject({ code: 1, stderr: 'users: no account named "alice"\n' });
  });

  it('answers bad usage with the usage text and exit code 2', async () => {
    for (const argv of [[], ['frobnicate'], ['add'], ['add', 'a', 'b', '--password-stdin'], ['list', 'extra'], ['list', '--role', 'x'], ['add', 'a', '--bogus']]) {
      const result = await users(argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr, argv.join(' ')).toContain('usage: npm run users');
    }
  });

  it('asks for --password-stdin when stdin is not a terminal', async () => {
    const result = await users(['add', 'alice'], 'pw');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--password-stdin');
  });

  it('prints help on --help with exit code 0', async () => {
    const result = await users(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('add <username> --password-stdin');
  });

  it('reads storage settings through the server’s schema: a bad one is refused by name, and nothing is created', async () => {
    for (const [name, value] of [['DATABASE_URL', 'mysql://db/auth'], ['AUTH_SQLITE_SYNCHRONOUS', 'sometimes'], ['DATABASE_POOL_SIZE', 'many']]) {
      const result = await users(['list'], '', { DATA_DIR: dataDir, [name!]: value! });
      expect(result.code, name).toBe(1);
      expect(result.stderr, name).toMatch(new RegExp(`^users: cannot open storage: invalid configuration:\n {2}- ${name}: `));
    }
    expect(existsSync(join(dataDir, 'auth.db'))).toBe(false);
  });

  it('works as a real command: node auth-server/cli/users.ts', async () => {
    const run = (args: string[], input?: string) => {
      const child = execFile(process.execPath, [fileURLToPath(new URL('./users.ts', import.meta.url)), ...args], {
        env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '' },
      });
      child.stdin?.end(input ?? '');
      return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    };
    expect(await run(['add', 'alice', '--password-stdin', '--role', 'admin'], 's3cret\n')).toMatchObject({ code: 0, stderr: '' });
    expect(await run(['add', 'alice', '--password-stdin'], 's3cret\n')).toMatchObject({ code: 1 });
    const listed = await run(['list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^alice\s+-\s+-\s+admin\s+[\w-]{22}$/m);
    expect(await authenticate('alice', 's3cret')).toBeDefined();
  });
});
