import autocannon from 'autocannon';
import type { BenchProcess } from './processes.ts';

/** Seconds per measurement (BENCH_DURATION, default 5). */
export const DURATION_S = Math.max(1, Number(process.env.BENCH_DURATION) || 5);

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  /** Seconds (default DURATION_S). Always bounded, also when `amount` is set. */
  durationS?: number;
  /** Stop after this many requests (e.g. one per pre-created refresh token). */
  amount?: number;
  /** Called for every request: what to change in it (e.g. the next refresh token in the body). */
  next?: () => { body?: string; headers?: Record<string, string> };
  /** The server under load: its CPU use during the run is reported. */
  server?: BenchProcess;
}

export interface LoadResult {
  /** 2xx responses per second. */
  rate: number;
  p50: number;
  p99: number;
  ok: number;
  /** Non-2xx responses plus connection errors and timeouts. */
  failed: number;
  seconds: number;
  /** CPU the server process used, in cores (1.0 = one core busy for the whole run). */
  serverCores: number | undefined;
}

/**
 * One autocannon run against a loopback URL, bounded in time (and optionally in count).
 *
 * @example
 * const r = await load({ url: `${base}/healthz`, connections: 8 });
 * console.log(r.rate, r.p99);
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const durationS = options.durationS ?? DURATION_S;
  const cpuBefore = options.server?.cpuSeconds();
  const next = options.next;
  let guard: NodeJS.Timeout | undefined;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: options.method ?? 'GET',
        headers: options.headers,
        body: options.body,
        connections: options.connections,
        pipelining: 1,
        timeout: 10,
        // With `amount`, autocannon ends the run at its next sample tick after the last
        // response (every sampleInt ms, default 1000): up to a second of idle counted in the
        // duration, which cut a refresh run's rate (2–5 s long) by up to a fifth. 100 ms ticks
        // bound that to 0.1 s; the per-second sample histogram is not used here.
        ...(options.amount === undefined ? { duration: durationS } : { amount: options.amount, sampleInt: 100 }),
        ...(next ? { requests: [{ setupRequest: (request: autocannon.Request) => changed(request, next()) }] } : {}),
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    // `amount` takes precedence over `duration` in autocannon: bound the run ourselves as well.
    guard = setTimeout(() => instance.stop(), (durationS + 10) * 1000);
  }).finally(() => clearTimeout(guard));
  const cpuAfter = options.server?.cpuSeconds();
  const ok = result['2xx'];
  return {
    rate: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok,
    failed: result.non2xx + result.errors + result.timeouts,
    seconds: result.duration,
    serverCores: cpuBefore === undefined || cpuAfter === undefined ? undefined : (cpuAfter - cpuBefore) / result.duration,
  };
}

function changed(request: autocannon.Request, change: { body?: string; headers?: Record<string, string> }): autocannon.Request {
  return {
    ...request,
    ...(change.body === undefined ? {} : { body: change.body }),
    ...(change.headers === undefined ? {} : { headers: { ...request.headers, ...change.headers } }),
  };
}

/** Requests served per CPU-second the server used (independent of how much CPU it got). */
export function perCpu(r: LoadResult): number {
  return r.serverCores ? r.rate / r.serverCores : NaN;
}
