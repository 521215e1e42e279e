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
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadConfig as loadAuthConfig, loadKeysDir } from './auth-server/config.ts';
import { loadOrCreateResourceServerCredentials } from './auth-server/keys/resource-server-client-file.ts';
import { demoAccountLines, isDemoAccountHint, parseDemoAccount } from './auth-server/demo-user.ts';
import { ConfigError } from './common/config-error.ts';
import { isHealthy } from './common/health.ts';
import { releaseStartupMemory } from './common/startup-memory.ts';
import { unknownSettings } from './common/unknown-env.ts';
import { LOOPBACK, portInUse } from './common/http-server.ts';
import { loadConfig as loadResourceConfig } from './resource-server/config.ts';

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

interface Server {
  name: string;
  entry: string;
  healthUrl: string;
  child?: ChildProcess;
  exited?: { code: number | null; signal: NodeJS.Signals | null };
}

type Configuration = ReturnType<typeof readConfiguration>;

/** Both servers' configurations; when either is invalid, every problem of both at once, then exit 1. */
function readConfiguration(env: NodeJS.ProcessEnv) {
  const problems: string[] = [];
  const read = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  };
  const auth = read(() => loadAuthConfig(env));
  const resource = read(() => loadResourceConfig(env));
  if (auth && resource) return { auth, resource };
  // Both servers read the shared variables (AUTH_PORT, RS_RESOURCE_URL…): say each problem once.
  process.stderr.write(`start: ${new ConfigError([...new Set(problems)]).message}\n`);
  // The servers warn about unknown variables themselves; they will not start now, and a typo is often the cause.
  for (const unknown of unknownSettings(env)) process.stderr.write(`start: warning: ${unknown.message}\n`);
  process.exit(1);
}

/** Where a server bound to `host` can be reached from this machine. */
function localUrl(host: string | undefined, port: number, path: string): string {
  const shown = !host || host === '0.0.0.0' || host === '::' || host === LOOPBACK ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}${path}`;
}

/**
 * Where both servers accept connections, for the banner: loopback by default, so a development
 * stack with its demo admin never reaches the network unless asked to.
 */
function whereItListens(config: Configuration): string {
  const describe = (host: string | undefined) =>
    host === LOOPBACK
      ? 'this machine only (127.0.0.1, ::1)'
      : !host || host === '0.0.0.0' || host === '::'
        ? 'every network interface'
        : host;
  const auth = describe(config.auth.host);
  const resource = describe(config.resource.host);
  const where = auth === resource ? auth : `auth server ${auth}, resource server ${resource}`;
  const hint = config.auth.host === LOOPBACK && config.resource.host === LOOPBACK ? '  (AUTH_HOST/RS_HOST=0.0.0.0 opens it up)' : '';
  return `    Listening on:    ${where}${hint}`;
}

/**
 * Refuses to start when a port is taken, before starting anything: otherwise a second
 * `npm start` finds the first instance's /healthz answering, prints "ready", and only then
 * shows a server failing. One line: which port, and how to pick others.
 */
async function exitIfPortsTaken(config: Configuration, env: NodeJS.ProcessEnv): Promise<void> {
  const taken: string[] = [];
  if (config.auth.port !== 0 && (await portInUse(config.auth.port, config.auth.host)))
    taken.push(`port ${config.auth.port} (auth server, AUTH_PORT)`);
  if (config.resource.port !== 0 && (await portInUse(config.resource.port, config.resource.host)))
    taken.push(`port ${config.resource.port} (resource server, RS_PORT)`);
  if (taken.length === 0) return;
  const fixedUrls = [env.AUTH_ISSUER && 'AUTH_ISSUER', env.RS_RESOURCE_URL && 'RS_RESOURCE_URL'].filter(Boolean);
  process.stderr.write(
    `start: ${taken.join(' and ')} ${taken.length > 1 ? 'are' : 'is'} already in use (is mcp-oauth-stack already running?); ` +
      `stop it, or pick free ports, e.g. AUTH_PORT=3100 RS_PORT=3101 npm start` +
      (fixedUrls.length ? ` (and change ${fixedUrls.join(' and ')} to match)` : '') +
      '\n',
  );
  process.exit(1);
}

function banner(mcpUrl: string, issuer: string, demo: { username: string; password: string } | undefined, listening: string): string {
  const lines = [
    '',
    '  mcp-oauth-stack is ready (development)',
    '',
    `    MCP server URL:  ${mcpUrl}    <- paste this into your MCP client`,
    `    Issuer:          ${issuer}`,
    listening,
    '',
  ];
  if (demo) {
    lines.push(...demoAccountLines(demo));
  } else {
    lines.push(
      '  Sign in with an account from DATA_DIR (npm run users -- list; add one with npm run users -- add <name> --password-stdin)',
    );
  }
  lines.push('', '  Ctrl-C stops both servers. Logs follow.', '', '');
  return lines.join('\n');
}

const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development' };
if (process.env.NODE_ENV && process.env.NODE_ENV !== 'development') {
  process.stderr.write(
    `start: npm start is the development stack; ignoring NODE_ENV=${process.env.NODE_ENV} (run the servers one by one for production)\n`,
  );
}
// Children write to a pipe, not a terminal: ask for the pretty format ourselves when we are in one.
if (!env.LOG_FORMAT && process.stdout.isTTY) env.LOG_FORMAT = 'pretty';

// The resource server's own client at the auth server, with no setup: generated once into
// KEYS_DIR and handed to both servers. A pair in the environment wins. Before the configuration
// is read: some resource-server settings need the pair (RS_UPSTREAM_USERINFO).
if (!env.RS_CLIENT_ID && !env.RS_CLIENT_SECRET) {
  try {
    const rs = await loadOrCreateResourceServerCredentials(loadKeysDir(env));
    env.RS_CLIENT_ID = rs.client_id;
    env.RS_CLIENT_SECRET = rs.client_secret;
  } catch (error) {
    process.stderr.write(`start: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
const config = readConfiguration(env);
if (config.resource.issuer !== config.auth.issuer) {
  process.stderr.write(
    `start: warning: the resource server expects issuer ${config.resource.issuer} but the auth server is ${config.auth.issuer}\n`,
  );
}

await exitIfPortsTaken(config, env);

const servers: Server[] = [
  { name: 'auth-server', entry: 'auth-server/main.ts', healthUrl: localUrl(config.auth.host, config.auth.port, '/healthz') },
  {
    name: 'resource-server',
    entry: 'resource-server/main.ts',
    healthUrl: localUrl(config.resource.host, config.resource.port, '/healthz'),
  },
];

let demo: { username: string; password: string } | undefined;
let bannerShown = false;
let stopping = false;

function forward(server: Server, child: ChildProcess): void {
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const account = server.name === 'auth-server' ? parseDemoAccount(line) : undefined;
    if (account) {
      demo = account;
      // After the banner it is printed as the auth server wrote it; before, the banner shows it.
      if (bannerShown) process.stdout.write(`${line}\n`);
      return;
    }
    if (server.name === 'auth-server' && isDemoAccountHint(line) && (demo || bannerShown)) {
      if (bannerShown) process.stdout.write(`${line}\n`);
      return;
    }
    // The demo block's blank lines are not log lines; drop them before the banner.
    if (line.trim() === '' && !bannerShown) return;
    process.stdout.write(`${line}\n`);
  });
  createInterface({ input: child.stderr! }).on('line', (line) => process.stderr.write(`${line}\n`));
}

function startServer(server: Server): void {
  const child = spawn(process.execPath, ['--import', STOP_WITH_PARENT, server.entry], {
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

function running(server: Server): server is Server & { child: ChildProcess } {
  return server.child !== undefined && server.exited === undefined && server.child.exitCode === null && server.child.signalCode === null;
}

async function shutdown(exitCode: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    const waits = servers.filter(running).map(
      (server) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            process.stderr.write(`start: ${server.name} did not stop within ${STOP_TIMEOUT_MS / 1000} s; killing it\n`);
            server.child.kill('SIGKILL');
          }, STOP_TIMEOUT_MS);
          server.child.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          server.child.kill('SIGTERM');
        }),
    );
    await Promise.all(waits);
    const unclean = servers.some((s) => s.exited && s.exited.code !== 0 && s.exited.signal !== 'SIGTERM');
    process.exit(exitCode !== 0 ? exitCode : unclean ? 1 : 0);
  }
  return new Promise<never>(() => {});
}

let firstSignalAt = 0;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
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
// Whatever happens to us, never leave a server behind.
process.on('exit', () => {
  for (const server of servers.filter(running)) server.child.kill('SIGKILL');
});
process.stdout.on('error', () => {}); // `npm start | head`: keep running when the reader goes away

for (const server of servers) startServer(server);
// The configuration checks are done: give back what loading them took (bench/FINDINGS.md).
releaseStartupMemory();

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
  process.stdout.write(banner(config.resource.resourceUrl, config.auth.issuer, demo, whereItListens(config)));
  bannerShown = true;
}
