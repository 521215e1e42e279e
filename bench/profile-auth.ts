/**
 * `node bench/profile-auth.ts [--store sqlite|postgres] [--tokens N]`: a CPU profile of the auth
 * server (as bench/auth-server.ts starts it: `npm run auth-server`'s node options) under client_credentials
 * and then rotating refresh_token load, each summarised as self time per grant (µs, from the
 * shares of busy samples × the server's CPU per grant) by frame and by package, so the two grants
 * can be compared frame by frame. Also prints grants per server CPU-second.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createTestSchema, type TestSchema } from '../auth-server/testing/postgres.ts';
import { RESOURCE, registerPublicClient } from '../auth-server/testing/harness.ts';
import { authServerEnv, clientCredentialsRequest, demoAccount, makeRefreshTokens } from './auth-server.ts';
import { load, perCpu, type LoadResult } from './load.ts';
import { freePort, npmNodeOptions, spawnServer, tempDir } from './processes.ts';
import { busySamples, frameKey, frameWhere, monotonicUs, packageOf, parentsOf, type Profile } from './cpu-profile.ts';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite' },
    tokens: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '5' },
    top: { type: 'string', default: '30' },
    'no-profile': { type: 'boolean', default: false },
    // Stacks leading to the frames whose name contains this (e.g. jobPromise): who calls them.
    callers: { type: 'string' },
    // Syscalls per grant: strace -c -f attached to the server during each measured load only.
    strace: { type: 'boolean', default: false },
  },
});
const REDIRECT_URI = 'http://127.0.0.1:8976/callback';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

const dir = await tempDir('profile-auth');
let schema: TestSchema | undefined;
if (values.store === 'postgres') schema = await createTestSchema();
const extraEnv: Record<string, string> = schema ? { DATABASE_URL: schema.url } : {};
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const logFile = join(dir.path, 'server.log');
const server = await spawnServer({
  name: 'auth server',
  entry: 'auth-server/main.ts',
  execArgv: [...npmNodeOptions('auth-server'), ...(values['no-profile'] ? [] : ['--cpu-prof', '--cpu-prof-dir', dir.path])],
  env: authServerEnv(port, dir.path, extraEnv),
  readyUrl: `${url}/healthz`,
  logFile,
});
const windows: { name: string; from: number; to: number; r: LoadResult }[] = [];
try {
  const account = await demoAccount(logFile);
  const cc = await clientCredentialsRequest(url, dir.path, extraEnv);
  await load({ ...cc, connections: 16, durationS: 2 });
  let trace = await straced('client_credentials');
  let from = monotonicUs();
  let r = await load({ ...cc, connections: 16, durationS: Number(values.seconds), server });
  windows.push({ name: 'client_credentials', from, to: monotonicUs(), r });
  await trace(r.ok);

  const client = await registerPublicClient({ url }, { redirect_uris: [REDIRECT_URI] });
  const tokens = await makeRefreshTokens(url, client.client_id, account, 60_000, Number(values.tokens));
  // The first 10 % warm the refresh path up (its code is cold after client_credentials).
  const warm = Math.floor(tokens.length / 10);
  let next = 0;
  const body = (token: string) =>
    new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: client.client_id, resource: RESOURCE }).toString();
  const refresh = (amount: number) =>
    load({
      url: `${url}/token`,
      method: 'POST',
      headers: FORM,
      body: body(tokens[next]!),
      connections: 16,
      amount,
      next: () => ({ body: body(tokens[next++]!) }),
      server,
    });
  if (warm >= 16) await refresh(warm);
  trace = await straced('refresh_token');
  from = monotonicUs();
  r = await refresh(tokens.length - next);
  windows.push({ name: 'refresh_token', from, to: monotonicUs(), r });
  await trace(r.ok);
} finally {
  await server.stop();
  await schema?.drop();
}
if (process.env.PROFILE_AUTH_LOG_TAIL)
  console.log((await readFile(logFile, 'utf8')).split('\n').slice(-Number(process.env.PROFILE_AUTH_LOG_TAIL)).join('\n'));
for (const w of windows) {
  console.log(
    `\n== ${values.store} ${w.name}: ${w.r.ok} ok, ${w.r.failed} failed, ${Math.round(w.r.rate)}/s, ${Math.round(perCpu(w.r))} per server CPU-second ` +
      `(${(1e6 / perCpu(w.r)).toFixed(0)} µs CPU per grant)`,
  );
}
if (!values['no-profile']) {
  const file = (await readdir(dir.path)).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written in ${dir.path}`);
  const profile = JSON.parse(await readFile(join(dir.path, file), 'utf8')) as Profile;
  for (const w of windows) summarise(profile, w.name, w.from, w.to, 1e6 / perCpu(w.r), Number(values.top));
}
await dir.remove();

/** Attaches strace -c -f to the server; the returned function detaches and prints syscalls per grant. */
async function straced(name: string): Promise<(grants: number) => Promise<void>> {
  if (!values.strace) return async () => {};
  const out = join(dir.path, `strace-${name}.txt`);
  const tracer = spawn('strace', ['-c', '-f', '-p', String(server.pid), '-o', out], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 500)); // attached to every thread
  return async (grants) => {
    const exited = new Promise((resolve) => tracer.once('exit', resolve));
    tracer.kill('SIGINT');
    await exited;
    console.log(`\n-- ${name}: syscalls per grant (${grants} grants)`);
    for (const line of (await readFile(out, 'utf8')).split('\n').filter((l) => /^\s*[\d.]+\s+[\d.]+\s+\d+\s+\d+/.test(l))) {
      const f = line.trim().split(/\s+/);
      const count = Number(f[3]);
      if (count > grants / 20) console.log(`  ${(count / grants).toFixed(2).padStart(6)}  ${f.at(-1)}`);
    }
  };
}

/** Self time per frame and per package in one window, as µs per grant. */
function summarise(profile: Profile, name: string, from: number, to: number, usPerGrant: number, top: number): void {
  const { byId, counts, total } = busySamples(profile, from, to);
  const parent = parentsOf(profile);
  const self = new Map<string, number>();
  const byPackage = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, n] of counts) {
    const node = byId.get(id)!;
    self.set(frameKey(node), (self.get(frameKey(node)) ?? 0) + n);
    const pkg = packageOf(frameWhere(node), node.callFrame.functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + n);
    const seen = new Set<string>();
    for (let up: number | undefined = id; up !== undefined; up = parent.get(up)) {
      const key = frameKey(byId.get(up)!);
      if (!seen.has(key)) {
        seen.add(key);
        inclusive.set(key, (inclusive.get(key) ?? 0) + n);
      }
    }
  }
  const us = (n: number) => `${((usPerGrant * n) / total).toFixed(1).padStart(7)} µs ${((100 * n) / total).toFixed(1).padStart(5)}%`;
  console.log(`\n-- ${name}: self time per grant, top ${top} of ${total} busy samples`);
  for (const [key, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${us(n)}  ${key}`);
  console.log(`-- ${name}: self time by package`);
  for (const [key, n] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${us(n)}  ${key}`);
  if (values.callers) {
    const stacks = new Map<string, number>();
    for (const [id, n] of counts) {
      if (!frameKey(byId.get(id)!).includes(values.callers)) continue;
      const frames: string[] = [];
      for (let up = parent.get(id); up !== undefined && frames.length < 12; up = parent.get(up)) {
        const node = byId.get(up)!;
        if (/(auth-server|common|oidc-provider|jose)\//.test(frameWhere(node))) frames.push(frameKey(node));
      }
      const stack = frames.join('\n      ← ');
      stacks.set(stack, (stacks.get(stack) ?? 0) + n);
    }
    console.log(`-- ${name}: stacks of ${values.callers}`);
    for (const [stack, n] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${us(n)}  ${stack}`);
  }
  console.log(`-- ${name}: inclusive time per grant (auth-server/, common/, oidc-provider)`);
  for (const [key, n] of [...inclusive]
    .filter(([key]) => /(auth-server|common|oidc-provider)\//.test(key))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top * 2))
    console.log(`  ${us(n)}  ${key}`);
}
