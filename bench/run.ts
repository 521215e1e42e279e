/**
 * `npm run bench [-- part…]`: the load benchmarks of docs/architecture.md's Performance targets.
 *
 * Parts: resource, auth, crypto, startup (default: all). A run of every part writes
 * bench/RESULTS.md and bench/throughput.svg; a run of some parts only prints, unless --write.
 * BENCH_DURATION sets the seconds per measurement (default 5).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestPostgres, type TestPostgres } from '../auth-server/testing/postgres-server.ts';
import { markdownSection, systemInfo, writeResults, type Section } from './report.ts';
import { lineChart, type Series } from './svg-chart.ts';

const HERE = new URL('.', import.meta.url).pathname;

type Part = (logDir: string) => Promise<{ section: Section; series?: Series[] }>;

// Imported when run: the auth part's PostgreSQL URL must be in the environment before its modules load.
const PARTS: Record<string, Part> = {
  resource: async (logDir) => (await import('./resource-server.ts')).benchResourceServer(logDir),
  auth: async (logDir) => (await import('./auth-server.ts')).benchAuthServer(logDir),
  crypto: async () => (await import('./crypto.ts')).benchCrypto(),
  startup: async (logDir) => (await import('./startup.ts')).benchStartup(logDir),
};

const args = process.argv.slice(2);
const write = args.includes('--write');
const asked = args.filter((a) => !a.startsWith('--'));
const unknown = asked.filter((a) => !(a in PARTS));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown part ${unknown.join(', ')}; parts: ${Object.keys(PARTS).join(', ')}\n`);
  process.exit(2);
}
const selected = asked.length > 0 ? asked : Object.keys(PARTS);

const info = systemInfo();
console.log(
  `bench: ${selected.join(', ')} on ${info.cpu} (${info.cores} cores), Node ${info.node}, ${process.env.BENCH_DURATION || 5} s per measurement`,
);
// The PostgreSQL half of the auth part: the server PG_TESTS_URL / TEST_DATABASE_URL names, else
// the embedded one the tests use (started here, stopped at the end).
let postgres: TestPostgres | undefined;
if (selected.includes('auth')) {
  try {
    postgres = await startTestPostgres(process.env);
    process.env.TEST_DATABASE_URL = postgres.url;
  } catch (error) {
    console.error(`bench: no PostgreSQL (${(error as Error).message}); the auth part runs on SQLite only`);
  }
}
const logDir = await mkdtemp(join(tmpdir(), 'bench-logs-'));
const started = performance.now();
const sections: Section[] = [];
let series: Series[] | undefined;
let failed = false;
for (const name of selected) {
  console.log(`\n== ${name}`);
  try {
    const result = await PARTS[name]!(logDir);
    sections.push(result.section);
    series ??= result.series;
    console.log(`\n${markdownSection(result.section)}`);
  } catch (error) {
    failed = true;
    console.error(`bench: part ${name} failed: ${error instanceof Error ? error.stack : String(error)}\n(server logs in ${logDir})`);
  }
}
await postgres?.stop();
const seconds = (performance.now() - started) / 1000;
console.log(`\nbench: done in ${Math.round(seconds)} s`);
if (!failed) await rm(logDir, { recursive: true, force: true });

if (!failed && (write || asked.length === 0)) {
  let chart: string | undefined;
  if (series) {
    chart = 'throughput.svg';
    await writeFile(
      join(HERE, chart),
      lineChart('Resource server: tools/call per second', 'concurrent connections (log scale)', 'requests per second', series),
    );
  }
  await writeResults(join(HERE, 'RESULTS.md'), sections, { chart, seconds });
  console.log(`bench: wrote bench/RESULTS.md${chart ? ' and bench/throughput.svg' : ''}`);
}
process.exit(failed ? 1 : 0);
