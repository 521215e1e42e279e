/**
 * The checks `npm start` makes before it starts anything, in a short-lived child of the launcher
 * (start.mjs): the resource server's client credentials (generated once into KEYS_DIR), both
 * servers' configurations, and whether their ports are free. These need both zod configurations
 * and TypeScript; the launcher that then stays up for the whole session needs neither, so it is
 * plain JavaScript and idles at a fraction of a `.ts` process's memory (bench/FINDINGS.md).
 *
 * Reads the environment the launcher prepared (NODE_ENV=development, LOG_FORMAT). On a problem it
 * writes one `start: …` message to stderr and exits 1; otherwise it writes one JSON line
 * ({@link Preflight}) to stdout: the variables to add to the servers' environment, the servers'
 * health URLs, and the banner.
 */
import { loadConfig as loadAuthConfig, loadKeysDir } from './auth-server/config.ts';
import { loadOrCreateResourceServerCredentials } from './auth-server/keys/resource-server-client-file.ts';
import { demoAccountFormat, demoAccountLines } from './auth-server/demo-user.ts';
import { ConfigError } from './common/config-error.ts';
import { unknownSettings } from './common/unknown-env.ts';
import { LOOPBACK, portInUse } from './common/http-server.ts';
import { loadConfig as loadResourceConfig } from './resource-server/config.ts';

/** What the launcher needs from the checks: keep in step with the JSDoc type in start.mjs. */
export interface Preflight {
  /** Added to both servers' environment (the resource server's client, when generated here). */
  env: Record<string, string>;
  servers: { name: 'auth-server' | 'resource-server'; entry: string; healthUrl: string }[];
  banner: {
    /** The banner up to where the demo account goes. */
    head: string[];
    /** The demo account's lines with `{username}` and `{password}` in place of the values. */
    demo: string[];
    /** Instead of {@link demo} when no demo account was created (an account already exists). */
    noDemo: string[];
    tail: string[];
  };
  /** How the launcher recognises the auth server's demo-account lines in its output. */
  demoLine: { pattern: string; hint: string };
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

function bannerParts(config: Configuration): Preflight['banner'] {
  return {
    head: [
      '',
      '  mcp-oauth-stack is ready (development)',
      '',
      `    MCP server URL:  ${config.resource.resourceUrl}    <- paste this into your MCP client`,
      `    Issuer:          ${config.auth.issuer}`,
      whereItListens(config),
      '',
    ],
    demo: demoAccountLines({ username: '{username}', password: '{password}' }),
    noDemo: ['  Sign in with an account from DATA_DIR (npm run users -- list; add one with npm run users -- add <name> --password-stdin)'],
    tail: ['', '  Ctrl-C stops both servers. Logs follow.', '', ''],
  };
}

const env = process.env;
const added: Record<string, string> = {};
// The resource server's own client at the auth server, with no setup: generated once into
// KEYS_DIR and handed to both servers. A pair in the environment wins. Before the configuration
// is read: some resource-server settings need the pair (RS_UPSTREAM_USERINFO).
if (!env.RS_CLIENT_ID && !env.RS_CLIENT_SECRET) {
  try {
    const rs = await loadOrCreateResourceServerCredentials(loadKeysDir(env));
    env.RS_CLIENT_ID = added.RS_CLIENT_ID = rs.client_id;
    env.RS_CLIENT_SECRET = added.RS_CLIENT_SECRET = rs.client_secret;
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

const preflight: Preflight = {
  env: added,
  servers: [
    { name: 'auth-server', entry: 'auth-server/main.ts', healthUrl: localUrl(config.auth.host, config.auth.port, '/healthz') },
    {
      name: 'resource-server',
      entry: 'resource-server/main.ts',
      healthUrl: localUrl(config.resource.host, config.resource.port, '/healthz'),
    },
  ],
  banner: bannerParts(config),
  demoLine: demoAccountFormat,
};
process.stdout.write(`${JSON.stringify(preflight)}\n`);
