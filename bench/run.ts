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
import { benchAuthServer } from './auth-server.ts';
import { benchCrypto } from './crypto.ts';
import { benchResourceServer } from './resource-server.ts';
import { benchStartup } from './startup.ts';
import { markdownSection, systemInfo, writeResults, type Section } from './report.ts';
import { lineChart, type Series } from './svg-chart.ts';

const HERE = new URL('.', import.meta.url).pathname;

type Part = (logDir: string) => Promise<{ section: Section; series?: Series[] }>;

const PARTS: Record<string, Part> = {
  resource: benchResourceServer,
  auth: benchAuthServer,
  crypto: benchCrypto,
  startup: benchStartup,
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
