import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from './local-compose.ts';
import { demoAccountLines, parseDemoAccount } from '../auth-server/demo-user.ts';
import { isHealthy } from '../common/health.ts';
import { freePort } from '../common/free-port.ts';
import { answers, nonLoopbackHost } from '../common/testing/non-loopback.ts';

interface Run {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
  authPort: number;
  rsPort: number;
  dir: string;
  /** The server processes seen once the stack was ready (cleaned up even if they outlive start). */
  servers: number[];
}

const runs: Run[] = [];
const blockers: Server[] = [];
afterEach(async () => {
  for (const run of runs.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    for (const pid of new Set([...childrenOf(run.child.pid!), ...run.servers])) {
      if (isAlive(pid) && /main\.ts$/.test(commandOf(pid))) process.kill(pid, 'SIGKILL');
    }
    await run.exited;
    await rm(run.dir, { recursive: true, force: true });
  }
  for (const blocker of blockers.splice(0)) blocker.close();
});

/** `npm start` (node start.mjs) on free ports with its own DATA_DIR/KEYS_DIR. */
async function start(reuse?: Run, env: Record<string, string> = {}): Promise<Run> {
  const dir = reuse?.dir ?? (await mkdtemp(join(tmpdir(), 'npm-start-')));
  const authPort = reuse?.authPort ?? (await freePort());
  const rsPort = reuse?.rsPort ?? (await freePort());
  const child = spawn(process.execPath, ['start.mjs'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      AUTH_PORT: String(authPort),
      RS_PORT: String(rsPort),
      AUTH_HOST: '127.0.0.1',
      RS_HOST: '127.0.0.1',
      DATA_DIR: join(dir, 'data'),
      KEYS_DIR: join(dir, 'keys'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
  const run: Run = { child, out: () => out, err: () => err, exited, authPort, rsPort, dir, servers: [] };
  runs.push(run);
  return run;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

async function ready(run: Run): Promise<void> {
  await until(() => run.out().includes('mcp-oauth-stack is ready'), `the banner\n${run.out()}\n${run.err()}`);
  run.servers = childrenOf(run.child.pid!);
}

const healthy = (port: number) => isHealthy(`http://127.0.0.1:${port}/healthz`);

/** PIDs whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function commandOf(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
}

describe('npm start', { timeout: 45_000 }, () => {
  it('starts both servers and prints the MCP URL, the issuer and, on a first start, the demo account', async () => {
    const run = await start();
    await ready(run);
    expect(await healthy(run.authPort)).toBe(true);
    expect(await healthy(run.rsPort)).toBe(true);
    const banner = run.out().slice(run.out().indexOf('mcp-oauth-stack is ready'));
    expect(banner).toContain(`MCP server URL:  http://localhost:${run.rsPort}/mcp`);
    expect(banner).toContain(`Issuer:          http://localhost:${run.authPort}`);
    const demo = parseDemoAccount(banner);
    expect(demo).toEqual({ username: 'demo', password: expect.stringMatching(/^\S{8,}$/) });
    expect(banner).toContain(`\n${demoAccountLines(demo!).join('\n')}\n`);
    expect(
      run
        .out()
        .split('\n')
        .filter((line) => parseDemoAccount(line)),
      'printed once, in the banner',
    ).toHaveLength(1);
    expect(childrenOf(run.child.pid!).map(commandOf).sort()).toEqual([
      expect.stringMatching(/ auth-server\/main\.ts$/),
      expect.stringMatching(/ resource-server\/main\.ts$/),
    ]);
  });

  it('Ctrl-C stops both servers cleanly and exits 0; the next start has no new demo account', async () => {
    const first = await start();
    await ready(first);
    const servers = childrenOf(first.child.pid!);
    expect(servers).toHaveLength(2);
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(childrenOf(first.child.pid!)).toEqual([]);
    for (const pid of servers) expect(() => process.kill(pid, 0), `server ${pid} is gone`).toThrow();
    expect(await healthy(first.authPort)).toBe(false);
    expect(await healthy(first.rsPort)).toBe(false);
    expect(first.out()).toMatch(/"name":"auth-server".*"msg":"shutting down"/);
    expect(first.out()).toMatch(/"name":"resource-server".*"msg":"shutting down"/);

    const second = await start(first);
    await ready(second);
    expect(parseDemoAccount(second.out())).toBeUndefined();
    expect(second.out()).toContain('Sign in with an account from DATA_DIR');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('if one server dies, the other is stopped and npm start exits non-zero', async () => {
    const run = await start();
    await ready(run);
    const rs = childrenOf(run.child.pid!).find((pid) => commandOf(pid).endsWith('resource-server/main.ts'))!;
    process.kill(rs, 'SIGKILL');
    const code = await run.exited;
    expect(code).not.toBe(0);
    expect(run.err()).toContain('start: resource-server exited (SIGKILL); stopping auth-server');
    expect(await healthy(run.authPort), 'no half stack left behind').toBe(false);
  });

  it('killed outright (SIGKILL), npm start leaves no server behind', async () => {
    const run = await start();
    await ready(run);
    const servers = childrenOf(run.child.pid!);
    expect(servers).toHaveLength(2);
    run.child.kill('SIGKILL');
    await run.exited;
    await until(async () => !(await healthy(run.authPort)) && !(await healthy(run.rsPort)), 'both servers to stop', 10_000);
    await until(() => servers.every((pid) => !isAlive(pid)), 'both server processes to exit', 10_000);
  });

  it('its parent gone (npm and its `sh -c` killed by SIGTERM, which never reaches the launcher), npm start stops both servers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'npm-start-'));
    const authPort = await freePort();
    const rsPort = await freePort();
    // `; true` keeps the shell as the launcher's parent, as npm's script shell does.
    const shell = spawn('sh', ['-c', `"${process.execPath}" start.mjs; true`], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        AUTH_PORT: String(authPort),
        RS_PORT: String(rsPort),
        AUTH_HOST: '127.0.0.1',
        RS_HOST: '127.0.0.1',
        DATA_DIR: join(dir, 'data'),
        KEYS_DIR: join(dir, 'keys'),
      },
      stdio: 'ignore',
    });
    const shellExited = new Promise((done) => shell.once('close', done));
    let pids: number[] = [];
    try {
      await until(async () => (await healthy(authPort)) && (await healthy(rsPort)), 'both servers', 20_000);
      const [launcher] = childrenOf(shell.pid!);
      pids = [launcher!, ...childrenOf(launcher!)];
      expect(pids).toHaveLength(3);
      shell.kill('SIGTERM');
      await shellExited;
      await until(() => pids.every((pid) => !isAlive(pid)), 'the launcher and both servers to exit', 10_000);
      expect(await healthy(authPort)).toBe(false);
    } finally {
      for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      if (shell.exitCode === null && shell.signalCode === null) shell.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a taken port stops npm start before anything starts: one line naming the port and AUTH_PORT/RS_PORT, no stack trace', async () => {
    const rsPort = await freePort();
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(rsPort, '127.0.0.1', done));
    blockers.push(blocker);
    const run = await start(undefined, { RS_PORT: String(rsPort) });
    expect(await run.exited).toBe(1);
    expect(run.err()).toBe(
      `start: port ${rsPort} (resource server, RS_PORT) is already in use (is mcp-oauth-stack already running?); stop it, or pick free ports, e.g. AUTH_PORT=3100 RS_PORT=3101 npm start\n`,
    );
    expect(run.out()).not.toContain('mcp-oauth-stack is ready');
    expect(await healthy(run.authPort), 'the auth server never started').toBe(false);
  });

  it('a second npm start while the first runs says the ports are taken and never prints "ready"', async () => {
    const first = await start();
    await ready(first);
    const second = await start(first);
    expect(await second.exited).toBe(1);
    expect(second.err()).toBe(
      `start: port ${first.authPort} (auth server, AUTH_PORT) and port ${first.rsPort} (resource server, RS_PORT) are already in use (is mcp-oauth-stack already running?); stop it, or pick free ports, e.g. AUTH_PORT=3100 RS_PORT=3101 npm start\n`,
    );
    expect(second.out()).toBe('');
    expect(await healthy(first.authPort), 'the first stack keeps running').toBe(true);
  });

  it('by default listens on this machine only, and the banner says so', async () => {
    const run = await start(undefined, { AUTH_HOST: '', RS_HOST: '' });
    await ready(run);
    expect(run.out()).toContain('    Listening on:    this machine only (127.0.0.1, ::1)  (AUTH_HOST/RS_HOST=0.0.0.0 opens it up)\n');
    const outside = nonLoopbackHost();
    if (outside) {
      expect(await answers(outside, run.authPort), `auth server not reachable at ${outside}`).toBe(false);
      expect(await answers(outside, run.rsPort), `resource server not reachable at ${outside}`).toBe(false);
    }
    expect(await healthy(run.rsPort)).toBe(true);
  });

  it("provisions the resource server's client once into KEYS_DIR (0600) and the auth server accepts it; an env pair wins", async () => {
    const run = await start();
    await ready(run);
    const file = join(run.dir, 'keys', 'resource-server-client.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const rs = JSON.parse(readFileSync(file, 'utf8')) as { client_id: string; client_secret: string };
    const introspect = (id: string, secret: string) =>
      fetch(`http://127.0.0.1:${run.authPort}/token/introspection`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ token: 'unknown' }),
      });
    expect((await introspect(rs.client_id, rs.client_secret)).status).toBe(200);
    expect((await introspect(rs.client_id, 'wrong')).status).toBe(401);
    expect(run.out()).not.toContain('RS_CLIENT_ID/RS_CLIENT_SECRET are not set');
    // Both servers got the pair (the resource server reads it on its side).
    for (const pid of run.servers) {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      expect(environ, commandOf(pid)).toEqual(
        expect.arrayContaining([`RS_CLIENT_ID=${rs.client_id}`, `RS_CLIENT_SECRET=${rs.client_secret}`]),
      );
    }
    expect(run.servers).toHaveLength(2);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);

    const again = await start(run);
    await ready(again);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(rs);
    expect((await introspect(rs.client_id, rs.client_secret)).status).toBe(200);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);

    const own = { RS_CLIENT_ID: 'my-rs', RS_CLIENT_SECRET: 'm'.repeat(40) };
    const fromEnv = await start(run, own);
    await ready(fromEnv);
    expect((await introspect(own.RS_CLIENT_ID, own.RS_CLIENT_SECRET)).status).toBe(200);
    fromEnv.child.kill('SIGTERM');
    expect(await fromEnv.exited).toBe(0);
  });

  it('refuses a broken environment before starting anything', async () => {
    const run = await start(undefined, { RS_RESOURCE_URL: 'not a url' });
    expect(await run.exited).toBe(1);
    expect(run.err()).toMatch(/^start: invalid configuration:\n {2}- RS_RESOURCE_URL: /);
  });

  it('lists every problem of both servers at once (each once), with a hint for a misspelt variable, and starts nothing', async () => {
    const run = await start(undefined, {
      RS_RESOURCE_URL: 'not a url',
      AUTH_ACCESS_TOKEN_TTL: '5',
      MCP_MAX_SESSIONS: 'lots',
      AUTH_ISUER: 'https://auth.example',
    });
    expect(await run.exited).toBe(1);
    const problems = run
      .err()
      .split('\n')
      .filter((line) => line.startsWith('  - '));
    // RS_RESOURCE_URL is read by both servers: one line. The others belong to one server each.
    expect(problems).toEqual([
      '  - RS_RESOURCE_URL: must be an absolute URL',
      expect.stringMatching(/^ {2}- AUTH_ACCESS_TOKEN_TTL: /),
      expect.stringMatching(/^ {2}- MCP_MAX_SESSIONS: /),
    ]);
    expect(run.err()).toContain('start: warning: AUTH_ISUER is not a setting of either server and is ignored; did you mean AUTH_ISSUER?');
    expect(run.out()).not.toContain('mcp-oauth-stack is ready');
    expect(await healthy(run.authPort)).toBe(false);
  });

  it('each server warns once about a variable no server reads, naming the closest one; known variables get no warning', async () => {
    const run = await start(undefined, { RS_TOKEN_CACHE_SIZ: '5', LOG_FORMAT: 'json' });
    await ready(run);
    const warnings = run
      .out()
      .split('\n')
      .filter((line) => line.includes('is not a setting'));
    expect(warnings).toHaveLength(2);
    for (const name of ['auth-server', 'resource-server']) {
      const warning = warnings.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.name === name);
      expect(warning, name).toMatchObject({ level: 40, variable: 'RS_TOKEN_CACHE_SIZ', closest: 'RS_TOKEN_CACHE_SIZE' });
    }
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });
});

describe('npm run auth-server / npm run resource-server', () => {
  it('each runs one server', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'npm-run-'));
    const authPort = await freePort();
    const rsPort = await freePort();
    const env = {
      PATH: process.env.PATH,
      AUTH_PORT: String(authPort),
      RS_PORT: String(rsPort),
      AUTH_HOST: '127.0.0.1',
      RS_HOST: '127.0.0.1',
      DATA_DIR: join(dir, 'data'),
      KEYS_DIR: join(dir, 'keys'),
      LOG_FORMAT: 'json',
    };
    try {
      for (const [script, port, other] of [
        ['auth-server', authPort, rsPort],
        ['resource-server', rsPort, authPort],
      ] as const) {
        // npm runs the script through a shell: signal the whole process group.
        const child = spawn('npm', ['run', '--silent', script], { cwd: ROOT, env, stdio: 'ignore', detached: true });
        const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
        try {
          await until(() => healthy(port), `${script} on ${port}`);
          expect(await healthy(other), `${script} runs alone`).toBe(false);
        } finally {
          process.kill(-child.pid!, 'SIGTERM');
          await exited;
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a taken port ends npm run resource-server with one line naming RS_PORT, no stack trace', async () => {
    const rsPort = await freePort();
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(rsPort, '127.0.0.1', done));
    blockers.push(blocker);
    const child = spawn('npm', ['run', '--silent', 'resource-server'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, RS_PORT: String(rsPort), LOG_FORMAT: 'json', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (chunk) => (err += chunk));
    const code = await new Promise<number | null>((done) => child.once('close', (c) => done(c)));
    expect(code).toBe(1);
    expect(err).toBe(
      `resource-server: port ${rsPort} is already in use on 127.0.0.1 (is it already running?); stop the other process or pick another port with RS_PORT=<port>\n`,
    );
  }, 30_000);
});
