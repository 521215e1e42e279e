import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from './local-compose.ts';
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

/** `npm start` (node start.ts) on free ports with its own DATA_DIR/KEYS_DIR. */
async function start(reuse?: Run, env: Record<string, string> = {}): Promise<Run> {
  const dir = reuse?.dir ?? (await mkdtemp(join(tmpdir(), 'npm-start-')));
  const authPort = reuse?.authPort ?? (await freePort());
  const rsPort = reuse?.rsPort ?? (await freePort());
  const child = spawn(process.execPath, ['start.ts'], {
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
    expect(banner).toMatch(/ {2}Demo account created — username: demo {2}password: \S{8,}\n/);
    expect(run.out().match(/Demo account created/g), 'printed once, in the banner').toHaveLength(1);
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
    expect(second.out()).not.toContain('Demo account created');
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

  it('refuses a broken environment before starting anything', async () => {
    const run = await start(undefined, { RS_RESOURCE_URL: 'not a url' });
    expect(await run.exited).toBe(1);
    expect(run.err()).toMatch(/^start: invalid configuration:\n {2}- RS_RESOURCE_URL: /);
  });
});

describe('npm run auth-server / npm run resource-server', () => {
  it('each runs one server', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'npm-run-'));
    const authPort = await freePort();
    const rsPort = await freePort();
    const env = { PATH: process.env.PATH, AUTH_PORT: String(authPort), RS_PORT: String(rsPort), AUTH_HOST: '127.0.0.1', RS_HOST: '127.0.0.1', DATA_DIR: join(dir, 'data'), KEYS_DIR: join(dir, 'keys'), LOG_FORMAT: 'json' };
    try {
      for (const [script, port, other] of [['auth-server', authPort, rsPort], ['resource-server', rsPort, authPort]] as const) {
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
    expect(err).toBe(`resource-server: port ${rsPort} is already in use on 127.0.0.1 (is it already running?); stop the other process or pick another port with RS_PORT=<port>\n`);
  }, 30_000);
});
