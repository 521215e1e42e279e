import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../common/free-port.ts';
import { isHealthy } from '../common/health.ts';

export { freePort };

export const ROOT = new URL('..', import.meta.url).pathname;

/** A server process the benchmark started: only ever stopped by its own PID. */
export interface BenchProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Milliseconds from spawn until `readyUrl` first answered 2xx. */
  readyMs: number;
  /** Current and peak resident set size of the process (MB, from /proc/<pid>/status). */
  memory(): { rssMb: number; peakMb: number };
  /** CPU seconds (user + system) the process has used so far (from /proc/<pid>/stat). */
  cpuSeconds(): number;
  /** SIGTERM, then SIGKILL after 5 s; resolves when it has exited. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  /** Script relative to the repository root, run with this node. */
  entry: string;
  /** Node options before the entry (e.g. --cpu-prof). */
  execArgv?: string[];
  /** A command that runs node (e.g. strace -c): then pid, memory and CPU are the wrapper's. */
  wrapper?: string[];
  env: Record<string, string>;
  /** Polled every 10 ms until it answers 2xx (bounded by `timeoutMs`). */
  readyUrl: string | string[];
  /** Output goes to this file, not through the benchmark's pipes. */
  logFile: string;
  timeoutMs?: number;
}

/**
 * Starts `node <entry>` with exactly `env` (plus PATH) and resolves once `readyUrl` answers.
 *
 * @example
 * const rs = await spawnServer({ name: 'rs', entry: 'resource-server/main.ts', env, readyUrl: `${url}/healthz`, logFile });
 * console.log(rs.readyMs, rs.memory()); await rs.stop();
 */
export async function spawnServer(options: SpawnOptions): Promise<BenchProcess> {
  const fd = openSync(options.logFile, 'a');
  const started = performance.now();
  const argv = [process.execPath, ...(options.execArgv ?? []), options.entry];
  const [command, ...args] = [...(options.wrapper ?? []), ...argv] as [string, ...string[]];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      // BENCH_SERVER_NODE_OPTIONS: node options for every server the benchmark starts (a memory
      // or CPU probe, e.g. --heapsnapshot-signal=SIGUSR2), never the benchmark's own.
      ...(process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {}),
      // BENCH_GLIBC_TUNABLES, BENCH_MALLOC_ARENA_MAX, BENCH_UV_THREADPOOL_SIZE: the same for the C
      // runtime's settings (e.g. glibc.malloc.mmap_threshold=1048576), which only act from the start.
      ...Object.fromEntries(
        ['GLIBC_TUNABLES', 'MALLOC_ARENA_MAX', 'UV_THREADPOOL_SIZE'].flatMap((name) => {
          const value = process.env[`BENCH_${name}`];
          return value ? [[name, value]] : [];
        }),
      ),
      ...options.env,
    },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name}: could not start ${options.entry}`);
  const urls = [options.readyUrl].flat();
  const deadline = started + (options.timeoutMs ?? 20_000);
  const pending = new Set(urls);
  while (pending.size > 0) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${options.name} exited (${child.exitCode ?? child.signalCode}) before it was ready; see ${options.logFile}`);
    }
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} not ready within ${options.timeoutMs ?? 20_000} ms; see ${options.logFile}`);
    }
    for (const url of [...pending]) if (await isHealthy(url)) pending.delete(url);
    if (pending.size > 0) await sleep(10);
  }
  const readyMs = performance.now() - started;
  return {
    name: options.name,
    pid,
    child,
    readyMs,
    memory: () => memoryOf(pid),
    cpuSeconds: () => cpuSecondsOf(pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The node options `npm run <script>` starts that server with (package.json's script, between
 * `node` and the entry): the benchmarks start the servers exactly so, the compile-cache preload and
 * any V8 flag included, so what they measure is what `npm run` runs.
 */
export function npmNodeOptions(script: 'auth-server' | 'resource-server'): string[] {
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const [node, ...args] = (scripts[script] ?? '').split(' ');
  if (node !== 'node' || !args.at(-1)?.endsWith('.ts')) throw new Error(`package.json's ${script} script is not \`node … <entry>.ts\``);
  return args.slice(0, -1);
}

/** VmRSS and VmHWM of a process, in MB. */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** utime + stime of a process in seconds (Linux clock ticks are 100 Hz). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A fresh temporary directory, and how to remove it. */
export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `bench-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

let floor: Promise<number> | undefined;

/**
 * Idle RSS (MB) of the bare node:http .ts server (bench/bare-server.ts) a second after it is
 * ready: the floor the memory targets are ratios of. Measured once per benchmark run (median of
 * three), so each part can compare with it without running the startup part.
 */
export function floorRssMb(logDir: string): Promise<number> {
  floor ??= (async () => {
    const samples: number[] = [];
    for (let run = 0; run < 3; run++) {
      const port = await freePort();
      const bare = await spawnServer({
        name: 'bare node:http .ts server',
        entry: 'bench/bare-server.ts',
        env: { RS_PORT: String(port) },
        readyUrl: `http://127.0.0.1:${port}/healthz`,
        logFile: join(logDir, 'bare-server.log'),
      });
      await sleep(FLOOR_SETTLE_MS);
      samples.push(bare.memory().rssMb);
      await bare.stop();
    }
    return samples.sort((a, b) => a - b)[1]!;
  })();
  return floor;
}
/** How long a server sits without traffic before its idle RSS is read. */
export const FLOOR_SETTLE_MS = 1000;
