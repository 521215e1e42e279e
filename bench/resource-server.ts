import { join } from 'node:path';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { startTestIssuer, type TestIssuer } from '../resource-server/testing/test-issuer.ts';
import { load, perCpu, type LoadResult } from './load.ts';
import { floorRssMb, freePort, npmNodeOptions, spawnServer, type BenchProcess } from './processes.ts';
import { check, ms, num, ratio, table, type Section } from './report.ts';
import type { Series } from './svg-chart.ts';

export const CONCURRENCIES = [1, 8, 32, 64];

const CALL = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'greet', arguments: { name: 'bench' } } });
const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
};

interface Variant {
  name: string;
  process: BenchProcess;
  url: string;
  headers: Record<string, string>;
  issuer?: TestIssuer;
}

/**
 * tools/call (greet) against real resource-server processes: with auth (a token from a test
 * JWKS issuer) and without (MCP_AUTH_DISABLED), stateless and with a session, and the SDK's
 * stateless example as the floor. Measurements of the variants alternate at each concurrency,
 * so a burst of load from elsewhere on the machine hits all of them alike.
 */
export async function benchResourceServer(logDir: string): Promise<{ section: Section; series: Series[] }> {
  const variants: Variant[] = [];
  const issuers: TestIssuer[] = [];
  try {
    const start = async (name: string, env: Record<string, string>, auth: boolean): Promise<Variant> => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}/mcp`;
      const issuer = auth ? await startTestIssuer() : undefined;
      if (issuer) issuers.push(issuer);
      const server = await spawnServer({
        name,
        entry: 'resource-server/main.ts',
        execArgv: npmNodeOptions('resource-server'),
        env: {
          NODE_ENV: 'development',
          RS_PORT: String(port),
          RS_HOST: '127.0.0.1',
          RS_RESOURCE_URL: url,
          AUTH_ISSUER: issuer?.url ?? 'http://127.0.0.1:9',
          LOG_FORMAT: 'json',
          LOG_LEVEL: 'info',
          ...env,
        },
        readyUrl: `http://127.0.0.1:${port}/healthz`,
        logFile: join(logDir, `${name.replaceAll(/\W+/g, '-')}.log`),
      });
      const token = issuer
        ? await issuer.mint({ claims: { aud: url, scope: 'mcp:tools', exp: Math.floor(Date.now() / 1000) + 3600 } })
        : 'unused';
      const variant = { name, process: server, url, headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` }, issuer };
      variants.push(variant);
      return variant;
    };
    const statelessAuth = await start('stateless, auth', { MCP_STATELESS: '1' }, true);
    const statelessOpen = await start('stateless, auth off', { MCP_STATELESS: '1', MCP_AUTH_DISABLED: '1' }, false);
    const sessionAuth = await start('session, auth', {}, true);
    const sessionOpen = await start('session, auth off', { MCP_AUTH_DISABLED: '1' }, false);
    const sdkPort = await freePort();
    const sdkProcess = await spawnServer({
      name: 'SDK stateless example',
      entry: 'bench/sdk-baseline.ts',
      env: { PORT: String(sdkPort) },
      readyUrl: `http://127.0.0.1:${sdkPort}/healthz`,
      logFile: join(logDir, 'sdk-baseline.log'),
    });
    const sdk: Variant = {
      name: 'SDK stateless example',
      process: sdkProcess,
      url: `http://127.0.0.1:${sdkPort}/mcp`,
      headers: MCP_HEADERS,
    };
    variants.push(sdk);
    const noCache = await start('stateless, auth, verification cache off', { MCP_STATELESS: '1', RS_TOKEN_CACHE_SIZE: '0' }, true);
    for (const v of [sessionAuth, sessionOpen]) v.headers['mcp-session-id'] = await openSession(v);

    const main = [statelessAuth, statelessOpen, sessionAuth, sessionOpen, sdk];
    for (const v of [...main, noCache]) {
      await assertGreets(v);
      await load({ url: v.url, method: 'POST', headers: v.headers, body: CALL, connections: 8, durationS: 1 }); // warm-up
    }
    const results = new Map<Variant, Map<number, LoadResult>>(main.map((v) => [v, new Map()]));
    for (const connections of CONCURRENCIES) {
      for (const v of main) {
        const r = await load({ url: v.url, method: 'POST', headers: v.headers, body: CALL, connections, server: v.process });
        results.get(v)!.set(connections, r);
        console.log(
          `  ${v.name.padEnd(24)} c=${String(connections).padEnd(3)} ${num(r.rate).padStart(7)}/s  p50 ${r.p50} ms  p99 ${r.p99} ms${r.failed ? `  FAILED ${r.failed}` : ''}`,
        );
      }
    }
    const uncached = await load({
      url: noCache.url,
      method: 'POST',
      headers: noCache.headers,
      body: CALL,
      connections: 32,
      server: noCache.process,
    });
    const cachedAt32 = results.get(statelessAuth)!.get(32)!;

    const of = (v: Variant, c: number) => results.get(v)!.get(c)!;
    const peak = (v: Variant) => Math.max(...CONCURRENCIES.map((c) => of(v, c).rate));
    const rows = main.flatMap((v) =>
      CONCURRENCIES.map((c) => {
        const r = of(v, c);
        return [v.name, c, num(r.rate), ms(r.p50), ms(r.p99), num(r.serverCores), num(perCpu(r)), r.failed];
      }),
    );
    rows.push([
      noCache.name,
      32,
      num(uncached.rate),
      ms(uncached.p50),
      ms(uncached.p99),
      num(uncached.serverCores),
      num(perCpu(uncached)),
      uncached.failed,
    ]);
    const efficiency = (a: Variant, b: Variant) =>
      Math.max(...CONCURRENCIES.map((c) => perCpu(of(a, c)))) / Math.max(...CONCURRENCIES.map((c) => perCpu(of(b, c))));
    const ratioRows = CONCURRENCIES.map((c) => [
      c,
      ratio(of(statelessAuth, c).rate / of(statelessOpen, c).rate),
      ratio(of(sessionAuth, c).rate / of(sessionOpen, c).rate),
      ratio(of(statelessAuth, c).rate / of(sdk, c).rate),
      ratio(of(sessionAuth, c).rate / of(sdk, c).rate),
    ]);
    const peakRatio = (a: Variant, b: Variant) => peak(a) / peak(b);
    const stateless = peakRatio(statelessAuth, statelessOpen);
    const session = peakRatio(sessionAuth, sessionOpen);
    const floorStateless = peakRatio(statelessAuth, sdk);
    const floorSession = peakRatio(sessionAuth, sdk);
    const jwks = [statelessAuth, sessionAuth, noCache].map((v) => `${v.name}: ${v.issuer!.jwksFetches()}`);
    const jwksOk = [statelessAuth, sessionAuth, noCache].every((v) => v.issuer!.jwksFetches() === 1);
    const failures = [...results.values()].flatMap((m) => [...m.values()]).reduce((n, r) => n + r.failed, uncached.failed);
    const floorMb = await floorRssMb(logDir);
    const ours = [statelessAuth, statelessOpen, sessionAuth, sessionOpen, noCache];
    const peaks = new Map([...main, noCache].map((v) => [v, v.process.memory().peakMb]));
    const memoryRows = [...main, noCache].map((v) => [v.name, num(peaks.get(v), 0), ratio(peaks.get(v)! / floorMb)]);
    const peakMb = Math.max(...ours.map((v) => peaks.get(v)!));
    const sessionOverStateless = peakRatio(sessionAuth, statelessAuth);

    const section: Section = {
      title: 'Resource server: tools/call throughput',
      method:
        `autocannon POSTs \`tools/call greet\` to real \`node ${npmNodeOptions('resource-server').join(' ')} resource-server/main.ts\` processes (as \`npm run resource-server\` starts them; LOG_LEVEL=info, JSON to a file) for ` +
        `${process.env.BENCH_DURATION || 5} s per cell; auth variants send a real ES256 token from a test JWKS issuer (resource-server/testing/test-issuer.ts), ` +
        '"auth off" is the same server with MCP_AUTH_DISABLED=1. Session mode initializes once and sends Mcp-Session-Id. ' +
        "The floor is the SDK's stateless example (new McpServer + StreamableHTTPServerTransport per request, bench/sdk-baseline.ts). " +
        'Ratios compare peak throughput over the concurrencies.',
      tables: [
        table(
          'tools/call per second',
          ['variant', 'connections', 'req/s', 'p50 ms', 'p99 ms', 'server CPU (cores)', 'req per server CPU-second', 'errors'],
          rows,
        ),
        table(
          'Ratios at each concurrency',
          ['connections', 'auth/off stateless', 'auth/off session', 'stateless auth / SDK', 'session auth / SDK'],
          ratioRows,
        ),
        table(
          `Peak RSS under load (VmHWM; floor: a bare node:http .ts server idles at ${num(floorMb, 0)} MB)`,
          ['process', 'MB', '/ floor'],
          memoryRows,
        ),
      ],
      checks: [
        check('auth on / auth off, stateless (peak)', ratio(stateless), '≥ 0.95×', stateless >= 0.95),
        check('auth on / auth off, session (peak)', ratio(session), '≥ 0.95×', session >= 0.95),
        check(
          'session mode / stateless mode, both with auth (peak)',
          `${ratio(sessionOverStateless)} (${num(peak(sessionAuth), 0)} vs ${num(peak(statelessAuth), 0)}/s)`,
          '≥ 0.75×',
          sessionOverStateless >= 0.75,
        ),
        check('stateless with auth / SDK stateless example (peak)', ratio(floorStateless), '≥ 2×', floorStateless >= 2),
        check('session with auth / SDK stateless example (peak)', ratio(floorSession), '≥ 2×', floorSession >= 2),
        check('JWKS fetches per resource server', jwks.join(', '), '1 each', jwksOk),
        check('failed requests', String(failures), '0', failures === 0),
        check(
          'peak RSS under load / the bare node:http .ts floor (largest resource server)',
          `${ratio(peakMb / floorMb)} (${num(peakMb, 0)} MB / ${num(floorMb, 0)} MB)`,
          '≤ 2.5×',
          peakMb / floorMb <= 2.5,
        ),
      ],
      notes: [
        'The machine is shared (2 cores, other test runs): "server CPU" shows how much of a core the server got. Requests per server ' +
          'CPU-second do not depend on that; their peak ratios: ' +
          `auth/off stateless ${ratio(efficiency(statelessAuth, statelessOpen))}, session ${ratio(efficiency(sessionAuth, sessionOpen))}, ` +
          `stateless auth / SDK ${ratio(efficiency(statelessAuth, sdk))}, session auth / SDK ${ratio(efficiency(sessionAuth, sdk))}.`,
        `Verification cache: with RS_TOKEN_CACHE_SIZE=0 (every request verifies the ES256 signature) stateless throughput at 32 connections is ` +
          `${num(uncached.rate)}/s against ${num(cachedAt32.rate)}/s cached (${ratio(uncached.rate / cachedAt32.rate)}).`,
        `Per server CPU-second, session / stateless with auth: ${ratio(efficiency(sessionAuth, statelessAuth))}.`,
        'Where the time goes (CPU profiles of the cached auth path and the session path): bench/FINDINGS.md.',
      ],
    };
    const series: Series[] = main.map((v) => ({ name: v.name, points: CONCURRENCIES.map((c) => ({ x: c, y: of(v, c).rate })) }));
    return { section, series };
  } finally {
    await Promise.all(variants.map((v) => v.process.stop()));
    await Promise.all(issuers.map((i) => i.close()));
  }
}

/** initialize + notifications/initialized; returns the Mcp-Session-Id. */
async function openSession(v: Variant): Promise<string> {
  const init = await fetch(v.url, {
    method: 'POST',
    headers: v.headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
    }),
  });
  await init.text();
  const id = init.headers.get('mcp-session-id');
  if (init.status !== 200 || !id) throw new Error(`${v.name}: initialize answered ${init.status} without a session id`);
  const headers = { ...v.headers, 'mcp-session-id': id };
  const initialized = await fetch(v.url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await initialized.text();
  if (initialized.status !== 202) throw new Error(`${v.name}: notifications/initialized answered ${initialized.status}`);
  return id;
}

/** One request before the load: the benchmark measures successful tool calls, nothing else. */
async function assertGreets(v: Variant): Promise<void> {
  const response = await fetch(v.url, { method: 'POST', headers: v.headers, body: CALL });
  const text = await response.text();
  if (response.status !== 200 || !text.includes('Hello, bench!'))
    throw new Error(`${v.name}: tools/call answered ${response.status}: ${text.slice(0, 300)}`);
}
