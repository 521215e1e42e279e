/**
 * `node bench/profile.ts [variant…] [--seconds N | --requests N] [--connections N]`: a CPU profile of one resource
 * server variant under the benchmark's tools/call load, summarised as the top self-time frames by
 * share of the samples. Shares are what to compare between a before and an after: they do not
 * depend on how much CPU the shared machine gave the process, absolute rates do.
 *
 * Variants: stateless-auth, stateless-open, session-auth, session-open (default: all four).
 * Also prints requests per server CPU-second, the noise-robust cost per request.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { startTestIssuer } from '../resource-server/testing/test-issuer.ts';
import { load, perCpu } from './load.ts';
import { freePort, npmNodeOptions, spawnServer } from './processes.ts';
import { busySamples, frameKey, frameWhere, monotonicUs, packageOf, parentsOf, type Profile } from './cpu-profile.ts';

const VARIANTS: Record<string, { env: Record<string, string>; auth: boolean }> = {
  'stateless-auth': { env: { MCP_STATELESS: '1' }, auth: true },
  'stateless-open': { env: { MCP_STATELESS: '1', MCP_AUTH_DISABLED: '1' }, auth: false },
  'session-auth': { env: {}, auth: true },
  'session-open': { env: { MCP_AUTH_DISABLED: '1' }, auth: false },
};

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: 'string' },
    // Node flags for the server (e.g. --max-semi-space-size=8), to compare memory and cost per request.
    flags: { type: 'string', default: '' },
    'no-profile': { type: 'boolean', default: false },
    // Heap snapshots (after a full GC) before and after the load: live size by constructor.
    heap: { type: 'boolean', default: false },
    // Syscalls per request (strace -c -f, summary in the server's log): a count, not a time.
    strace: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '8' },
    // A fixed number of requests instead of --seconds: the heap grows with the requests served, so
    // peak RSS compares between runs only at the same count (a busy machine serves fewer per second).
    requests: { type: 'string' },
    connections: { type: 'string', default: '32' },
    top: { type: 'string', default: '25' },
  },
});
const CALL = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'greet', arguments: { name: 'bench' } } });
const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
};

const dumps: Record<string, unknown> = {};
let current = '';
let requests: number;
for (const name of positionals.length ? positionals : Object.keys(VARIANTS)) {
  current = name;
  const variant = VARIANTS[name];
  if (!variant) throw new Error(`unknown variant ${name}; known: ${Object.keys(VARIANTS).join(', ')}`);
  const window = { from: 0, to: Infinity };
  const dir = await mkdtemp(join(tmpdir(), 'bench-profile-'));
  const issuer = variant.auth ? await startTestIssuer() : undefined;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/mcp`;
  const server = await spawnServer({
    name,
    entry: 'resource-server/main.ts',
    ...(values.strace ? { wrapper: ['strace', '-f', '-c', '-o', join(dir, 'strace.txt')] } : {}),
    execArgv: [
      ...npmNodeOptions('resource-server'),
      ...(values['no-profile'] ? [] : ['--cpu-prof', '--cpu-prof-dir', dir]),
      ...(values.heap ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`] : []),
      ...values.flags.split(' ').filter(Boolean),
    ],
    env: {
      NODE_ENV: 'development',
      RS_PORT: String(port),
      RS_HOST: '127.0.0.1',
      RS_RESOURCE_URL: url,
      AUTH_ISSUER: issuer?.url ?? 'http://127.0.0.1:9',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      ...variant.env,
    },
    readyUrl: `http://127.0.0.1:${port}/healthz`,
    logFile: join(dir, 'server.log'),
  });
  try {
    const token = issuer ? await issuer.mint({ claims: { aud: url, scope: 'mcp:tools', exp: Math.floor(Date.now() / 1000) + 3600 } }) : 'x';
    const headers: Record<string, string> = { ...HEADERS, authorization: `Bearer ${token}` };
    if (!name.startsWith('stateless')) headers['mcp-session-id'] = await openSession(url, headers);
    await load({ url, method: 'POST', headers, body: CALL, connections: 8, durationS: 2 });
    const before = values.heap ? await heapSnapshot(server.pid, dir) : undefined;
    window.from = monotonicUs();
    const r = await load({
      url,
      method: 'POST',
      headers,
      body: CALL,
      connections: Number(values.connections),
      ...(values.requests ? { amount: Number(values.requests), durationS: 600 } : { durationS: Number(values.seconds) }),
      server,
    });
    window.to = monotonicUs();
    dumps[`${name} rate`] = { rate: r.rate, perCpu: perCpu(r) };
    requests = r.ok;
    console.log(
      `\n== ${name}${values.flags ? ` (${values.flags})` : ''}: ${Math.round(r.rate)}/s, ${Math.round(perCpu(r))} per server CPU-second, ` +
        `${r.failed} failed, peak RSS ${Math.round(server.memory().peakMb)} MB`,
    );
    if (before) {
      const after = await heapSnapshot(server.pid, dir);
      console.log(
        `live heap after a full GC: ${mb(before.total)} MB after warm-up, ${mb(after.total)} MB after the load; by constructor (after, before):`,
      );
      for (const [name, size] of [...after.byName].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top)))
        console.log(`  ${mb(size).padStart(7)} MB  ${mb(before.byName.get(name) ?? 0).padStart(7)} MB  ${name}`);
    }
  } finally {
    // Under strace, stop node itself: strace then writes its summary and exits (a SIGTERM to strace would detach and leave node running).
    if (values.strace) for (const pid of childrenOf(server.pid)) process.kill(pid, 'SIGTERM');
    await server.stop();
    await issuer?.close();
  }
  if (values.strace) {
    const calls = await readFile(join(dir, 'strace.txt'), 'utf8');
    console.log(`syscalls during the whole run (${requests} requests in the measured load):`);
    for (const line of calls.split('\n').filter((l) => /^\s*[\d.]+\s+[\d.]+\s+\d+\s+\d+/.test(l))) {
      const f = line.trim().split(/\s+/);
      const count = Number(f[3]);
      if (count > requests / 10) console.log(`  ${(count / requests).toFixed(2).padStart(6)} per request  ${f.at(-1)}`);
    }
  }
  if (values['no-profile']) continue;
  const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written in ${dir}`);
  summarise(JSON.parse(await readFile(join(dir, file), 'utf8')) as Profile, Number(values.top), window);
  await rm(dir, { recursive: true, force: true });
}

if (values.json) await writeFile(values.json, JSON.stringify(dumps));

/** Self time by function (name + file:line), as a share of all samples; also by package. */
function summarise(profile: Profile, top: number, window: { from: number; to: number }): void {
  // Only the samples taken during the measured load, and only busy ones: startup and idle time are not per-request cost.
  const { byId, counts, total } = busySamples(profile, window.from, window.to);
  const self = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const [id, n] of counts) {
    const node = byId.get(id)!;
    const key = frameKey(node);
    self.set(key, (self.get(key) ?? 0) + n);
    const pkg = packageOf(frameWhere(node), node.callFrame.functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + n);
  }
  // Inclusive time of our own functions (resource-server/, common/): each sample counts once per function on its stack.
  const parent = parentsOf(profile);
  const inclusive = new Map<string, number>();
  for (const [id, n] of counts) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at)!;
      const key = frameKey(node);
      if (/^(resource-server|common)\//.test(frameWhere(node)) && !seen.has(key)) {
        seen.add(key);
        inclusive.set(key, (inclusive.get(key) ?? 0) + n);
      }
    }
  }
  if (values.json) dumps[current] = { total, self: Object.fromEntries(self), inclusive: Object.fromEntries(inclusive) };
  const pct = (n: number) => `${((100 * n) / total).toFixed(1).padStart(5)}%`;
  console.log(`self time, top ${top} of ${total} busy samples during the load:`);
  for (const [key, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(n)}  ${key}`);
  console.log('inclusive time of our functions:');
  for (const [key, n] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(n)}  ${key}`);
  console.log('self time by package:');
  for (const [key, n] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${pct(n)}  ${key}`);
}

async function openSession(url: string, headers: Record<string, string>): Promise<string> {
  const init = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
    }),
  });
  await init.text();
  const id = init.headers.get('mcp-session-id');
  if (!id) throw new Error(`initialize answered ${init.status} without a session id`);
  const done = await fetch(url, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': id },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await done.text();
  return id;
}

function mb(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

/** Asks the server for a heap snapshot (SIGUSR2, written after a full GC) and sums self sizes by constructor. */
async function heapSnapshot(pid: number, dir: string): Promise<{ total: number; byName: Map<string, number> }> {
  const known = new Set((await readdir(dir)).filter((f) => f.endsWith('.heapsnapshot')));
  process.kill(pid, 'SIGUSR2');
  let file: string | undefined;
  for (let i = 0; i < 600 && !file; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const candidate = (await readdir(dir)).find((f) => f.endsWith('.heapsnapshot') && !known.has(f));
    // Written in one go; complete once its size stops changing.
    if (candidate) {
      const a = (await stat(join(dir, candidate))).size;
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (a > 0 && (await stat(join(dir, candidate))).size === a) file = candidate;
    }
  }
  if (!file) throw new Error('no heap snapshot written');
  const snapshot = JSON.parse(await readFile(join(dir, file), 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  await rm(join(dir, file));
  const fields = snapshot.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = snapshot.snapshot.meta.node_types[0];
  const byName = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    const size = snapshot.nodes[i + sizeAt]!;
    const name = type === 'object' || type === 'closure' ? `${type} ${snapshot.strings[snapshot.nodes[i + nameAt]!]}` : `(${type})`;
    byName.set(name, (byName.get(name) ?? 0) + size);
    total += size;
  }
  return { total, byName };
}

/** Direct children of a process (Linux). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
