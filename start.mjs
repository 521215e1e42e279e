// @ts-check
/**
 * `npm start`: the whole stack on this machine in one command, in development mode.
 *
 * Runs `node auth-server/main.ts` and `node resource-server/main.ts` as child processes with the
 * same environment (so both read the same AUTH_PORT, RS_PORT, AUTH_ISSUER, RS_RESOURCE_URL…),
 * hands both the resource server's client credentials (RS_CLIENT_ID/RS_CLIENT_SECRET, generated
 * once into KEYS_DIR unless the environment has them), passes their logs through (pretty in a
 * terminal), and once both answer GET /healthz prints a
 * banner with the MCP URL to paste into a client, the issuer, and the demo account on a first start.
 *
 * Ctrl-C (or SIGTERM) stops both and exits 0 when both stopped cleanly. If one server exits on its
 * own, the other is stopped and this command exits non-zero: never a half stack.
 *
 * Plain JavaScript on purpose: this process stays up as long as the stack, and a `.ts` process
 * (type stripping, the servers' zod configurations) idles at about twice the memory. Every check
 * that needs the servers' code runs before, in a short-lived child: start-preflight.ts.
 */
import { spawn } from 'node:child_process';
import { get } from 'node:http';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/** @typedef {import('./start-preflight.ts').Preflight} Preflight */
/**
 * @typedef {Preflight['servers'][number] & {
 *   child?: import('node:child_process').ChildProcess,
 *   exited?: { code: number | null, signal: NodeJS.Signals | null },
 * }} Server
 */

const ROOT = dirname(fileURLToPath(import.meta.url));
/** How long both servers get to answer /healthz before start gives up. */
const READY_TIMEOUT_MS = 30_000;
/** How long a server gets to stop after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 10_000;
/**
 * The auth server prints the demo account before it listens, so by the time /healthz answers the
 * line is already in our pipe; this covers reading it.
 */
const DEMO_GRACE_MS = 200;
/**
 * Loaded into each server before its entry point: when this process goes away, even killed with
 * SIGKILL, the server's stdin pipe ends and the server stops itself (SIGTERM, a clean shutdown),
 * so no orphaned server keeps the ports.
 */
const STOP_WITH_PARENT = `data:text/javascript,${encodeURIComponent(
  "process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM')); process.stdin.resume(); process.stdin.unref();",
)}`;

/**
 * Preloaded into every TypeScript child, as npm's scripts do: the stripped sources come from the
 * on-disk cache after the first start (less memory and a faster start for each server).
 */
const COMPILE_CACHE = './common/compile-cache.cjs';

/**
 * Runs start-preflight.ts with `env`: its messages go straight to our stderr; on success its one
 * JSON line, else we exit with its code (it has said why).
 * @param {NodeJS.ProcessEnv} env
 * @returns {Promise<Preflight>}
 */
async function preflight(env) {
  const child = spawn(process.execPath, ['-r', COMPILE_CACHE, 'start-preflight.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
  /** @type {number} */
  const code = await new Promise((resolve) => {
    child.on('error', (error) => {
      process.stderr.write(`start: could not run the start-up checks: ${error.message}\n`);
      resolve(1);
    });
    child.on('close', (status, signal) => resolve(status ?? (signal ? 1 : 0)));
  });
  if (code !== 0) process.exit(code);
  return JSON.parse(out);
}

/**
 * Whether GET `url` answers 2xx within a second (the same question as common/health.ts asks,
 * without fetch: undici is several MB this process does not otherwise need).
 * @param {string} url
 * @returns {Promise<boolean>}
 */
function isHealthy(url) {
  return new Promise((resolve) => {
    const request = get(url, { timeout: 1_000 }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve(status >= 200 && status < 300);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

/**
 * One memory-reducing garbage collection once the stack is up: what common/startup-memory.ts does
 * for the servers (this file cannot import TypeScript). Reading the preflight, spawning and the
 * first health checks grow the young generation, which an idle process would keep committed.
 */
function releaseStartupMemory() {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = /** @type {(options: object) => void} */ (runInNewContext('gc'));
    v8.setFlagsFromString('--no-expose-gc');
    gc({ type: 'major', execution: 'async', flavor: 'last-resort' });
  } catch {
    // Only memory is at stake.
  }
}

/** @type {NodeJS.ProcessEnv} */
const env = { ...process.env, NODE_ENV: 'development' };
if (process.env.NODE_ENV && process.env.NODE_ENV !== 'development') {
  process.stderr.write(
    `start: npm start is the development stack; ignoring NODE_ENV=${process.env.NODE_ENV} (run the servers one by one for production)\n`,
  );
}
// Children write to a pipe, not a terminal: ask for the pretty format ourselves when we are in one.
if (!env.LOG_FORMAT && process.stdout.isTTY) env.LOG_FORMAT = 'pretty';

const checked = await preflight(env);
Object.assign(env, checked.env);
/** @type {Server[]} */
const servers = checked.servers;
const demoLine = new RegExp(checked.demoLine.pattern);

/** @type {{ username: string, password: string } | undefined} */
let demo;
let bannerShown = false;
let stopping = false;

/** @param {{ username: string, password: string } | undefined} account */
function banner(account) {
  const { head, demo: demoLines, noDemo, tail } = checked.banner;
  const middle = account
    ? demoLines.map((line) =>
        line.replace(/\{(username|password)\}/g, (_, key) => (key === 'username' ? account.username : account.password)),
      )
    : noDemo;
  return [...head, ...middle, ...tail].join('\n');
}

/**
 * @param {Server} server
 * @param {import('node:child_process').ChildProcessByStdio<import('node:stream').Writable, import('node:stream').Readable, import('node:stream').Readable>} child
 */
function forward(server, child) {
  createInterface({ input: child.stdout }).on('line', (line) => {
    const match = server.name === 'auth-server' ? demoLine.exec(line) : null;
    if (match) {
      demo = { username: match[1] ?? '', password: match[2] ?? '' };
      // After the banner it is printed as the auth server wrote it; before, the banner shows it.
      if (bannerShown) process.stdout.write(`${line}\n`);
      return;
    }
    if (server.name === 'auth-server' && line.trim() === checked.demoLine.hint && (demo || bannerShown)) {
      if (bannerShown) process.stdout.write(`${line}\n`);
      return;
    }
    // The demo block's blank lines are not log lines; drop them before the banner.
    if (line.trim() === '' && !bannerShown) return;
    process.stdout.write(`${line}\n`);
  });
  createInterface({ input: child.stderr }).on('line', (line) => process.stderr.write(`${line}\n`));
}

/** @param {Server} server */
function startServer(server) {
  const child = spawn(process.execPath, ['-r', COMPILE_CACHE, '--import', STOP_WITH_PARENT, server.entry], {
    cwd: ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    // Own process group: a terminal's Ctrl-C reaches only us, and we stop each server exactly once
    // (a second signal makes a server exit at once, without a clean shutdown).
    detached: true,
  });
  server.child = child;
  forward(server, child);
  child.on('error', (error) => {
    process.stderr.write(`start: could not run ${server.name}: ${error.message}\n`);
    server.exited ??= { code: 1, signal: null };
    void shutdown(1);
  });
  child.on('close', (code, signal) => {
    server.exited = { code, signal };
    if (stopping) return;
    const others = servers
      .filter((s) => s !== server)
      .map((s) => s.name)
      .join(', ');
    process.stderr.write(`start: ${server.name} exited (${signal ?? `code ${code}`}); stopping ${others}\n`);
    void shutdown(code && code !== 0 ? code : 1);
  });
}

/**
 * @param {Server} server
 * @returns {server is Server & { child: import('node:child_process').ChildProcess }}
 */
function running(server) {
  return server.child !== undefined && server.exited === undefined && server.child.exitCode === null && server.child.signalCode === null;
}

/**
 * @param {number} exitCode
 * @returns {Promise<never>}
 */
async function shutdown(exitCode) {
  if (!stopping) {
    stopping = true;
    const waits = servers.filter(running).map(
      (server) =>
        /** @type {Promise<void>} */ (
          new Promise((resolve) => {
            const timer = setTimeout(() => {
              process.stderr.write(`start: ${server.name} did not stop within ${STOP_TIMEOUT_MS / 1000} s; killing it\n`);
              server.child.kill('SIGKILL');
            }, STOP_TIMEOUT_MS);
            server.child.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            server.child.kill('SIGTERM');
          })
        ),
    );
    await Promise.all(waits);
    const unclean = servers.some((s) => s.exited && s.exited.code !== 0 && s.exited.signal !== 'SIGTERM');
    process.exit(exitCode !== 0 ? exitCode : unclean ? 1 : 0);
  }
  return new Promise(() => {});
}

let firstSignalAt = 0;
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(signal, () => {
    if (stopping) {
      // The same Ctrl-C can arrive twice (a wrapper forwarding it, and the terminal): only a
      // second press a moment later means "do not wait any longer".
      if (Date.now() - firstSignalAt < 1_000) return;
      for (const server of servers.filter(running)) server.child.kill('SIGKILL');
      process.exit(1);
    }
    firstSignalAt = Date.now();
    void shutdown(0);
  });
}
// `npm start` runs us under `sh -c`: a SIGTERM to npm (a process manager, `kill <npm pid>`) ends npm
// and the shell but never reaches us, and we would run on, re-parented, with both servers. So a
// launcher whose parent is gone stops as on SIGTERM. process.ppid is read live on every access.
const parentAtStart = process.ppid;
setInterval(() => {
  if (process.ppid !== parentAtStart) void shutdown(0);
}, 500).unref();
// Whatever happens to us, never leave a server behind.
process.on('exit', () => {
  for (const server of servers.filter(running)) server.child.kill('SIGKILL');
});
process.stdout.on('error', () => {}); // `npm start | head`: keep running when the reader goes away

for (const server of servers) startServer(server);

const deadline = Date.now() + READY_TIMEOUT_MS;
const pending = new Set(servers);
while (pending.size > 0 && !stopping) {
  if (Date.now() > deadline) {
    process.stderr.write(
      `start: ${[...pending].map((s) => `${s.name} (${s.healthUrl})`).join(' and ')} did not become healthy within ${READY_TIMEOUT_MS / 1000} s\n`,
    );
    await shutdown(1);
  }
  for (const server of [...pending]) if (await isHealthy(server.healthUrl)) pending.delete(server);
  if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 100));
}
const demoDeadline = Date.now() + DEMO_GRACE_MS;
while (!demo && !stopping && Date.now() < demoDeadline) await new Promise((resolve) => setTimeout(resolve, 25));
if (!stopping) {
  process.stdout.write(banner(demo));
  bannerShown = true;
}
releaseStartupMemory();
