import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDemoAccount } from '../auth-server/demo-user.ts';
import { createTestSchema, requirePostgres, type TestSchema } from '../auth-server/testing/postgres.ts';
import { loginAndGetTokens, RESOURCE, registerPublicClient } from '../auth-server/testing/harness.ts';
import { TestBrowser } from '../auth-server/testing/browser.ts';
import { DURATION_S, load, perCpu, type LoadResult } from './load.ts';
import { floorRssMb, freePort, npmNodeOptions, spawnServer, tempDir, type BenchProcess } from './processes.ts';
import { check, ms, num, ratio, table, type Check, type Section } from './report.ts';

const run = promisify(execFile);

const PER_CORE_TARGET = 1200;
const CONNECTIONS = 16;
const FLOW_WORKERS = 8;
/** Refresh tokens are made for at most this long, and at most this many. */
const MAX_REFRESH_TOKENS = 5000;
const REDIRECT_URI = 'http://127.0.0.1:8976/callback';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

interface StoreRun {
  store: string;
  server: BenchProcess;
  /** VmHWM at the end of its load runs. */
  peakMb: number;
  cc: LoadResult;
  refresh: LoadResult;
  refreshTokens: number;
  flows: { rate: number; p50: number; p99: number; failed: number };
  registration: LoadResult;
}

/**
 * The auth server as a real process (started as `npm run auth-server` does, rate limits off) on SQLite and,
 * when it answers, PostgreSQL (a fresh schema, dropped afterwards): client_credentials grants,
 * refresh grants (each request a different refresh token of a public client, so each rotates),
 * full authorization-code + PKCE flows with a login, and registrations.
 */
export async function benchAuthServer(logDir: string): Promise<{ section: Section }> {
  const runs: StoreRun[] = [];
  const notes: string[] = [];
  runs.push(await benchStore('SQLite', {}, logDir));
  let schema: TestSchema | undefined;
  try {
    await requirePostgres();
    schema = await createTestSchema();
  } catch (error) {
    notes.push(`PostgreSQL skipped: PostgreSQL store not available (${(error as Error).message.split(';')[0]}).`);
    console.log('  skipped: PostgreSQL store not available');
  }
  if (schema) {
    try {
      runs.push(await benchStore('PostgreSQL', { DATABASE_URL: schema.url }, logDir));
    } finally {
      await schema.drop();
    }
  }

  const rows = runs.flatMap((r) => [
    row(r.store, 'client_credentials', r.cc),
    row(r.store, 'refresh_token (rotating)', r.refresh),
    [
      r.store,
      `authorization code + PKCE, full flow with login (${FLOW_WORKERS} workers)`,
      num(r.flows.rate),
      ms(r.flows.p50),
      ms(r.flows.p99),
      '–',
      '–',
      String(r.flows.failed),
    ],
    row(r.store, 'registration (POST /reg)', r.registration),
  ]);
  const checks: Check[] = [];
  for (const r of runs) {
    for (const [what, result] of [
      ['client_credentials', r.cc],
      ['refresh_token', r.refresh],
    ] as const) {
      checks.push(
        check(
          `${r.store}: ${what} grants/s per core (1 process = 1 core)`,
          num(result.rate, 0),
          `≥ ${num(PER_CORE_TARGET, 0)}`,
          result.rate >= PER_CORE_TARGET,
        ),
      );
    }
  }
  const sqlite = runs.find((r) => r.store === 'SQLite');
  const postgres = runs.find((r) => r.store === 'PostgreSQL');
  if (sqlite && postgres) {
    const refreshRatio = postgres.refresh.rate / sqlite.refresh.rate;
    checks.push(
      check(
        'refresh grants/s, PostgreSQL / SQLite',
        `${ratio(refreshRatio)} (${num(postgres.refresh.rate, 0)} vs ${num(sqlite.refresh.rate, 0)}/s)`,
        '≥ 0.8×',
        refreshRatio >= 0.8,
      ),
    );
    notes.push(
      `Refresh per server CPU-second, PostgreSQL / SQLite: ${ratio(perCpu(postgres.refresh) / perCpu(sqlite.refresh))}. ` +
        'Round trips to PostgreSQL per rotation are pinned by auth-server/storage/postgres-round-trips.test.ts.',
    );
  }
  const floorMb = await floorRssMb(logDir);
  const peakMb = Math.max(...runs.map((r) => r.peakMb));
  checks.push(
    check(
      'peak RSS under load / the bare node:http .ts floor (largest auth server)',
      `${ratio(peakMb / floorMb)} (${num(peakMb, 0)} MB / ${num(floorMb, 0)} MB)`,
      '≤ 2.5×',
      peakMb / floorMb <= 2.5,
    ),
  );
  const failures = runs.reduce((n, r) => n + r.cc.failed + r.refresh.failed + r.flows.failed + r.registration.failed, 0);
  checks.push(check('failed requests', String(failures), '0', failures === 0));
  for (const r of runs) {
    notes.push(
      `${r.store}: per CPU-second the server used, client_credentials ${num(perCpu(r.cc), 0)}/s and refresh ${num(perCpu(r.refresh), 0)}/s ` +
        `(the server got ${num(r.cc.serverCores)} and ${num(r.refresh.serverCores)} cores of the shared machine). ` +
        `Refresh: ${r.refreshTokens} tokens made by logins beforehand, each used once (the first tenth as a warm-up, not measured).`,
    );
  }
  return {
    section: {
      title: 'Auth server: grants per second',
      method:
        `autocannon with ${CONNECTIONS} connections for ${DURATION_S} s against \`node ${npmNodeOptions('auth-server').join(' ')} auth-server/main.ts\` (as \`npm run auth-server\` starts it; AUTH_RATE_LIMITS=off, LOG_LEVEL=info ` +
        'JSON to a file, NODE_ENV=development), fresh DATA_DIR/KEYS_DIR, on SQLite and on a fresh PostgreSQL schema (DATABASE_URL …?schema=). ' +
        'client_credentials: one confidential client, Basic auth, scope mcp:tools, resource = the MCP server (an ES256 JWT per request). ' +
        "refresh_token: a public client's refresh tokens, pre-created through the login pages (auth-server/testing/harness.ts), one per request, " +
        `so every request rotates one (stops when they run out). Full flows: ${FLOW_WORKERS} workers each looping authorize → login POST → consent POST → token ` +
        'over HTTP with a fresh cookie jar (so every flow pays the scrypt password check).',
      tables: [
        table(
          'Grants and flows per second',
          ['store', 'what', 'per s', 'p50 ms', 'p99 ms', 'server CPU (cores)', 'per server CPU-second', 'errors'],
          rows,
        ),
        table(
          `Peak RSS under load (VmHWM; floor: a bare node:http .ts server idles at ${num(floorMb, 0)} MB)`,
          ['auth server process', 'MB', '/ floor'],
          runs.map((r) => [r.store, num(r.peakMb, 0), ratio(r.peakMb / floorMb)]),
        ),
      ],
      checks,
      notes,
    },
  };
}

/** `npm run clients -- add … --json` against the bench server's storage. */
/**
 * The auth server's environment in every benchmark that starts one (here and bench/profile-auth.ts):
 * loopback, fresh data and keys under `dir`, no rate limits (the load is one address), JSON logs.
 */
export function authServerEnv(port: number, dir: string, extraEnv: Record<string, string>): Record<string, string> {
  return {
    NODE_ENV: 'development',
    AUTH_PORT: String(port),
    AUTH_HOST: '127.0.0.1',
    AUTH_ISSUER: `http://127.0.0.1:${port}`,
    RS_RESOURCE_URL: RESOURCE,
    DATA_DIR: join(dir, 'data'),
    KEYS_DIR: join(dir, 'keys'),
    AUTH_RATE_LIMITS: 'off',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    ...extraEnv,
  };
}

/**
 * A confidential machine client made with the clients CLI (open registration refuses
 * client_credentials), and its token request: Basic auth, scope mcp:tools, the MCP resource.
 */
export async function clientCredentialsRequest(url: string, dir: string, extraEnv: Record<string, string>) {
  const confidential = await addMachineClient({ DATA_DIR: join(dir, 'data'), DATABASE_URL: extraEnv.DATABASE_URL ?? '' });
  const basic = `Basic ${Buffer.from(`${confidential.client_id}:${confidential.client_secret}`).toString('base64')}`;
  return {
    url: `${url}/token`,
    method: 'POST' as const,
    headers: { ...FORM, authorization: basic },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'mcp:tools', resource: RESOURCE }).toString(),
  };
}

async function addMachineClient(env: Record<string, string>): Promise<{ client_id: string; client_secret: string }> {
  const { stdout } = await run(
    process.execPath,
    [
      fileURLToPath(new URL('../auth-server/cli/clients.ts', import.meta.url)),
      'add',
      '--name',
      'bench batch job',
      '--grant',
      'client_credentials',
      '--secret',
      '--scope',
      'mcp:tools',
      '--json',
    ],
    {
      env: { PATH: process.env.PATH, ...env },
    },
  );
  return JSON.parse(stdout) as { client_id: string; client_secret: string };
}

function row(store: string, what: string, r: LoadResult): string[] {
  return [store, what, num(r.rate), ms(r.p50), ms(r.p99), num(r.serverCores), num(perCpu(r), 0), String(r.failed)];
}

async function benchStore(store: string, extraEnv: Record<string, string>, logDir: string): Promise<StoreRun> {
  const dir = await tempDir('auth');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(logDir, `auth-server-${store}.log`);
  const server = await spawnServer({
    name: `auth server (${store})`,
    entry: 'auth-server/main.ts',
    execArgv: npmNodeOptions('auth-server'),
    env: authServerEnv(port, dir.path, extraEnv),
    readyUrl: `${url}/healthz`,
    logFile,
  });
  try {
    const account = await demoAccount(logFile);
    const log = (what: string, r: { rate: number; failed: number }) =>
      console.log(
        `  ${store.padEnd(10)} ${what.padEnd(32)} ${num(r.rate).padStart(8)}/s  peak RSS so far ${num(server.memory().peakMb, 0)} MB${r.failed ? `  FAILED ${r.failed}` : ''}`,
      );

    // client_credentials
    const ccRequest = await clientCredentialsRequest(url, dir.path, extraEnv);
    await assertOk(ccRequest);
    await load({ ...ccRequest, connections: CONNECTIONS, durationS: 1 }); // warm-up
    const cc = await load({ ...ccRequest, connections: CONNECTIONS, server });
    log('client_credentials', cc);

    // refresh_token: tokens first, made through the login pages with a session per worker.
    const client = await registerPublicClient({ url }, { redirect_uris: [REDIRECT_URI] });
    const refreshTokens = await makeRefreshTokens(url, client.client_id, account, Math.min(12, DURATION_S * 2) * 1000);
    let next = 0;
    const refreshBody = (token: string) =>
      new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: token,
        client_id: client.client_id,
        resource: RESOURCE,
      }).toString();
    const refreshLoad = (amount: number, measured?: BenchProcess) =>
      load({
        url: `${url}/token`,
        method: 'POST',
        headers: FORM,
        body: refreshBody(refreshTokens[next]!),
        connections: CONNECTIONS,
        amount,
        next: () => ({ body: refreshBody(refreshTokens[next++ % refreshTokens.length]!) }),
        server: measured,
      });
    // A warm-up with the first tenth, as client_credentials gets one: until now the refresh
    // path's code has not run hot (JIT), and the run lasts only a second or two (each token is
    // used once), so without one much of it measured cold code.
    const warm = Math.floor(refreshTokens.length / 10);
    if (warm >= CONNECTIONS) await refreshLoad(warm);
    const refresh = await refreshLoad(refreshTokens.length - next, server);
    log(`refresh_token (${refreshTokens.length} tokens)`, refresh);

    const flows = await fullFlows(url, client.client_id, account);
    log('full flows', flows);

    const regBody = JSON.stringify({
      client_name: 'bench client',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    });
    const registration = await load({
      url: `${url}/reg`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: regBody,
      connections: CONNECTIONS,
      server,
    });
    log('registration', registration);
    return { store, server, peakMb: server.memory().peakMb, cc, refresh, refreshTokens: refreshTokens.length, flows, registration };
  } finally {
    await server.stop();
    await dir.remove();
  }
}

/** The demo account main.ts creates (and prints once) on a first start with no accounts. */
export async function demoAccount(logFile: string): Promise<{ username: string; password: string }> {
  for (let i = 0; i < 100; i++) {
    const demo = parseDemoAccount(await readFile(logFile, 'utf8'));
    if (demo) return demo;
    await sleep(50);
  }
  throw new Error(`the auth server printed no demo account; see ${logFile}`);
}

/** One request that must answer 2xx before the load. */
async function assertOk(request: { url: string; method: string; headers: Record<string, string>; body: string }): Promise<void> {
  const response = await fetch(request.url, request);
  if (!response.ok) throw new Error(`${request.url} answered ${response.status}: ${await response.text()}`);
  await response.body?.cancel();
}

/** Refresh tokens from authorization-code flows: each worker logs in once and reuses its session. */
export async function makeRefreshTokens(
  url: string,
  clientId: string,
  account: { username: string; password: string },
  forMs: number,
  max = MAX_REFRESH_TOKENS,
): Promise<string[]> {
  const tokens: string[] = [];
  const deadline = performance.now() + forMs;
  await Promise.all(
    Array.from({ length: FLOW_WORKERS }, async () => {
      const browser = new TestBrowser();
      while (performance.now() < deadline && tokens.length < max) {
        const { tokens: issued } = await loginAndGetTokens({ url }, { clientId, redirectUri: REDIRECT_URI, browser, ...account });
        if (!issued.refresh_token) throw new Error('no refresh token issued');
        tokens.push(issued.refresh_token);
      }
    }),
  );
  return tokens;
}

/** Full authorization-code + PKCE flows, each with a new cookie jar (login, consent, token). */
async function fullFlows(url: string, clientId: string, account: { username: string; password: string }) {
  const latencies: number[] = [];
  let failed = 0;
  const start = performance.now();
  const deadline = start + DURATION_S * 1000;
  await Promise.all(
    Array.from({ length: FLOW_WORKERS }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await loginAndGetTokens({ url }, { clientId, redirectUri: REDIRECT_URI, ...account });
          latencies.push(performance.now() - t0);
        } catch {
          failed++;
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { rate: latencies.length / seconds, p50: at(0.5), p99: at(0.99), failed };
}
