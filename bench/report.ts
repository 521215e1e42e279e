import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';

/** A table as printed and as written to RESULTS.md. */
export interface Table {
  title: string;
  headers: string[];
  rows: string[][];
}

/** A measured value against a target in docs/architecture.md. */
export interface Check {
  what: string;
  measured: string;
  target: string;
  pass: boolean;
}

/** What one part of the benchmark produced. */
export interface Section {
  title: string;
  /** How it was measured, in a sentence or two. */
  method: string;
  tables: Table[];
  checks: Check[];
  notes: string[];
}

export function table(title: string, headers: string[], rows: (string | number)[][]): Table {
  return { title, headers, rows: rows.map((row) => row.map(String)) };
}

export function check(what: string, measured: string, target: string, pass: boolean): Check {
  return { what, measured, target, pass };
}

/** 1234.5 → "1,235"; small numbers keep a decimal or two. */
export function num(value: number | undefined, digits?: number): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  const d = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
  return value.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** autocannon's latencies are whole milliseconds. */
export function ms(value: number): string {
  return value < 1 ? '<1' : num(value, 0);
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '–';
}

export function markdownTable(t: Table): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [`**${t.title}**`, '', line(t.headers), line(t.headers.map(() => '---')), ...t.rows.map(line)].join('\n');
}

export function markdownSection(section: Section): string {
  const parts = [`## ${section.title}`, '', section.method];
  for (const t of section.tables) parts.push('', markdownTable(t));
  if (section.checks.length > 0) {
    parts.push(
      '',
      markdownTable({
        title: 'Targets',
        headers: ['', 'measured', 'target', 'result'],
        rows: section.checks.map((c) => [c.what, c.measured, c.target, c.pass ? 'PASS' : '**FAIL**']),
      }),
    );
  }
  for (const note of section.notes) parts.push('', `- ${note}`);
  return parts.join('\n');
}

/** The machine the numbers come from. */
export function systemInfo(): { date: string; cpu: string; cores: number; node: string } {
  const list = cpus();
  return { date: new Date().toISOString(), cpu: list[0]?.model.trim() ?? 'unknown', cores: list.length, node: process.version };
}

export async function writeResults(path: string, sections: Section[], extra: { chart?: string; seconds: number }): Promise<void> {
  const info = systemInfo();
  const checks = sections.flatMap((s) => s.checks);
  const failed = checks.filter((c) => !c.pass);
  const lines = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (bench/run.ts). Every ratio compares measurements taken in this same run on this',
    'same machine, so it means more than any absolute number here: the machine is shared and has 2 cores.',
    'Where the time and the memory go (profiles, round trips, heap snapshots), and what was changed because of it:',
    '[FINDINGS.md](FINDINGS.md).',
    '',
    `- Date: ${info.date}`,
    `- CPU: ${info.cpu}, ${info.cores} cores`,
    `- Node.js: ${info.node}`,
    `- Duration per measurement: ${process.env.BENCH_DURATION || 5} s; whole run: ${Math.round(extra.seconds)} s`,
    `- Targets: ${checks.length - failed.length} of ${checks.length} met${failed.length ? ` (missed: ${failed.map((c) => c.what).join('; ')})` : ''}`,
    '',
  ];
  if (extra.chart) lines.push(`![throughput against concurrency](${extra.chart})`, '');
  lines.push(sections.map(markdownSection).join('\n\n'), '');
  await writeFile(path, lines.join('\n'));
}
