import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, memoryOf, spawnServer, tempDir } from './processes.ts';
import { check, num, ratio, table, type Section } from './report.ts';

const RUNS = 3;
const READY_TARGET_MS = 1500;
/** Idle RSS of each server, and of the npm start launcher itself, as a multiple of the bare server's. */
const IDLE_SERVER_TARGET = 1.3;
const IDLE_LAUNCHER_TARGET = 0.8;
/** How long a server sits without traffic before its idle RSS is read. */
const SETTLE_MS = 1000;

interface Target {
  name: string;
  entry: string;
  env(ports: { auth: number; rs: number }, dir: string): Record<string, string>;
  ready(ports: { auth: number; rs: number }): string[];
  /** Servers whose idle RSS counts against the target (npm start: its two children). */
  measuresServers: boolean;
  /** Node options before the entry. */
  execArgv?: string[];
}

/**
 * How `npm run auth-server` / `npm run resource-server` start a server: with the npm preload, which
 * turns on the on-disk cache of stripped sources (common/compile-cache.cjs). The first of the runs
 * fills the cache when it is empty; the median is a start with it. The floor runs bare.
 */
const AS_NPM_RUNS_IT = ['-r', './common/require-node.cjs'];

const common = (ports: { auth: number; rs: number }, dir: string) => ({
  NODE_ENV: 'development',
  LOG_FORMAT: 'json',
  LOG_LEVEL: 'info',
  AUTH_PORT: String(ports.auth),
  RS_PORT: String(ports.rs),
  AUTH_HOST: '127.0.0.1',
  RS_HOST: '127.0.0.1',
  DATA_DIR: join(dir, 'data'),
  KEYS_DIR: join(dir, 'keys'),
});

const TARGETS: Target[] = [
  {
    name: 'bare node:http .ts server (floor)',
    entry: 'bench/bare-server.ts',
    env: common,
    ready: (p) => [`http://127.0.0.1:${p.rs}/healthz`],
    measuresServers: false,
  },
  {
    // The same floor started the way our servers are (with the compile cache): the ratios against
    // it show how much of the servers' gain is the cache, which a bare server could have too.
    name: 'bare node:http .ts server, with the compile cache',
    entry: 'bench/bare-server.ts',
    execArgv: AS_NPM_RUNS_IT,
    env: common,
    ready: (p) => [`http://127.0.0.1:${p.rs}/healthz`],
    measuresServers: false,
  },
  {
    name: 'auth server',
    entry: 'auth-server/main.ts',
    execArgv: AS_NPM_RUNS_IT,
    env: common,
    ready: (p) => [`http://127.0.0.1:${p.auth}/healthz`],
    measuresServers: true,
  },
  {
    name: 'resource server',
    entry: 'resource-server/main.ts',
    execArgv: AS_NPM_RUNS_IT,
    env: common,
    ready: (p) => [`http://127.0.0.1:${p.rs}/healthz`],
    measuresServers: true,
  },
  {
    name: 'npm start (both)',
    entry: 'start.mjs',
    env: common,
    ready: (p) => [`http://127.0.0.1:${p.auth}/healthz`, `http://127.0.0.1:${p.rs}/healthz`],
    measuresServers: false,
  },
];

/**
 * Cold start: spawn → first 2xx from /healthz (polled every 10 ms), each time with fresh temp
 * DATA_DIR/KEYS_DIR (so the auth server also generates its keys and creates its database), and
 * the RSS of each server after a second without traffic.
 */
export async function benchStartup(logDir: string): Promise<{ section: Section }> {
  const rows: string[][] = [];
  const checks = [];
  const idle: { name: string; mb: number; target: number }[] = [];
  let floorMb = NaN;
  let cachedFloorMb = NaN;
  for (const target of TARGETS) {
    const times: number[] = [];
    const rss: number[] = [];
    const childRss: number[][] = [];
    for (let run = 0; run < RUNS; run++) {
      const dir = await tempDir('start');
      const ports = { auth: await freePort(), rs: await freePort() };
      const server = await spawnServer({
        name: target.name,
        entry: target.entry,
        execArgv: target.execArgv,
        env: target.env(ports, dir.path),
        readyUrl: target.ready(ports),
        logFile: join(logDir, `startup-${target.entry.replaceAll('/', '-')}.log`),
      });
      try {
        times.push(server.readyMs);
        await sleep(SETTLE_MS);
        rss.push(server.memory().rssMb);
        if (!target.measuresServers) childRss.push(childrenOf(server.pid).map((pid) => memoryOf(pid).rssMb));
      } finally {
        await server.stop();
        await dir.remove();
      }
    }
    const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
    const ready = median(times);
    const memory = median(rss);
    const memoryNote =
      target.measuresServers || target.entry.startsWith('bench/')
        ? num(memory, 0)
        : `${num(memory, 0)} (start.mjs) + ${childRss
            .at(-1)
            ?.map((mb) => num(mb, 0))
            .join(' + ')} (servers)`;
    rows.push([target.name, num(ready, 0), num(Math.min(...times), 0), num(Math.max(...times), 0), memoryNote]);
    if (target.entry.startsWith('bench/')) {
      if (target.execArgv) cachedFloorMb = memory;
      else floorMb = memory;
      continue; // the floors have no target
    }
    checks.push(
      check(`${target.name}: ready (median of ${RUNS})`, `${num(ready, 0)} ms`, `< ${READY_TARGET_MS} ms`, ready < READY_TARGET_MS),
    );
    idle.push(
      target.measuresServers
        ? { name: `${target.name}: idle RSS`, mb: memory, target: IDLE_SERVER_TARGET }
        : { name: `${target.name}: idle RSS of the launcher process`, mb: memory, target: IDLE_LAUNCHER_TARGET },
    );
  }
  for (const { name, mb, target } of idle)
    checks.push(
      check(
        `${name} / the bare node:http .ts floor`,
        `${ratio(mb / floorMb)} (${num(mb, 0)} MB / ${num(floorMb, 0)} MB)`,
        `≤ ${target}×`,
        mb / floorMb <= target,
      ),
    );
  return {
    section: {
      title: 'Cold start and idle memory',
      method:
        `Each of ${RUNS} runs spawns the command with fresh temp DATA_DIR/KEYS_DIR and free ports and polls GET /healthz every 10 ms; ` +
        `"ready" is spawn → first 2xx (for npm start: both servers). Idle RSS is VmRSS ${SETTLE_MS / 1000} s after ready, without traffic. ` +
        'Peak RSS under load is in the load sections.',
      tables: [table('Cold start to /healthz', ['command', 'ready ms (median)', 'min', 'max', 'idle RSS MB (median)'], rows)],
      checks,
      notes: [
        `Against the floor started with the same compile cache (${num(cachedFloorMb, 0)} MB), which the targets do not use: ` +
          idle.map(({ name, mb }) => `${name} ${ratio(mb / cachedFloorMb)}`).join('; ') +
          '. The cache is part of how `npm run` starts our servers; a bare server could have it too.',
      ],
    },
  };
}

/** Direct children of a process (Linux). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
