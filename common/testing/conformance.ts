import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The suite's commands we run: against a server, an authorization server, or a client. */
export type ConformanceCommand = 'server' | 'authorization' | 'client';

/** The official suite, pinned in package.json (devDependency) and installed by `npm ci`. */
const PACKAGE_DIR = resolve(import.meta.dirname, '../../node_modules/@modelcontextprotocol/conformance');

/** One entry of the suite's checks.json (its ConformanceCheck type). */
export interface ConformanceCheck {
  id: string;
  name: string;
  description: string;
  /** SUCCESS | FAILURE | WARNING | SKIPPED | INFO */
  status: string;
  errorMessage?: string;
  details?: Record<string, unknown>;
}

export interface ConformanceResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Everything the CLI printed (stdout and stderr). */
  output: string;
  /** checks.json of each scenario that ran, by scenario name. */
  scenarios: Map<string, ConformanceCheck[]>;
}

export interface ConformanceRun {
  pid: number;
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects on timeout or exit. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  result: Promise<ConformanceResult>;
  /** Kills the CLI (by its pid) if it is still running; safe to call twice. */
  kill(): void;
}

function packageJson(): { version: string; bin: { conformance: string } } {
  return JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8'));
}

/** The suite's version, for reports. */
export function conformanceVersion(): string {
  return packageJson().version;
}

/**
 * Runs `conformance <command> …` as a child process with its results written to a temp directory,
 * and reads every scenario's checks.json once it exits. The CLI is killed after `timeoutMs`.
 *
 * @example
 * const run = runConformance('server', ['--url', mcpUrl, '--scenario', 'ping'], { timeoutMs: 60_000 });
 * expect(conformanceProblems(await run.result, ['ping'])).toEqual([]);
 */
export function runConformance(command: ConformanceCommand, args: string[], options: { timeoutMs: number }): ConformanceRun {
  const bin = join(PACKAGE_DIR, packageJson().bin.conformance);
  const outDirReady = mkdtemp(join(tmpdir(), 'conformance-'));
  let output = '';
  const listeners = new Set<() => void>();
  let exited = false;
  let timedOut = false;
  let kill = () => {};
  let pid = 0;

  const result = outDirReady.then(async (outDir) => {
    // Node itself (not the `#!/usr/bin/env node` shebang), so the suite runs on the Node running the tests.
    const child = spawn(process.execPath, [bin, command, ...args, '--output-dir', outDir], {
      env: { ...process.env, NO_PROXY: 'localhost,127.0.0.1,::1', no_proxy: 'localhost,127.0.0.1,::1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    pid = child.pid ?? 0;
    kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const onData = (chunk: Buffer) => {
      output += chunk;
      for (const listener of listeners) listener();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => {
      child.once('error', (error) => {
        output += `\n[spawn failed: ${error.message}]`;
        done([null, null]);
      });
      child.once('close', (code, sig) => done([code, sig]));
    });
    clearTimeout(timer);
    exited = true;
    for (const listener of listeners) listener();
    try {
      return { exitCode, signal, timedOut, output, scenarios: await readChecks(outDir, command) };
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });
  // A rejected spawn is reported through `result`; waitForOutput sees the exit.
  result.catch(() => undefined);

  return {
    get pid() {
      return pid;
    },
    output: () => output,
    kill: () => kill(),
    result,
    waitForOutput(pattern, timeoutMs) {
      return new Promise((done, fail) => {
        const check = () => {
          const match = pattern.exec(output);
          if (match) finish(() => done(match));
          else if (exited) finish(() => fail(new Error(`conformance exited before printing ${pattern}:\n${output}`)));
        };
        const timer = setTimeout(
          () => finish(() => fail(new Error(`conformance did not print ${pattern} within ${timeoutMs} ms:\n${output}`))),
          timeoutMs,
        );
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/**
 * Everything that keeps a run from being a clean pass, in words: a non-zero exit, a timeout, a
 * scenario that left no checks, and every check that is not SUCCESS (FAILURE, WARNING, SKIPPED,
 * INFO). The CLI's exit code alone is not enough: it ignores warnings.
 *
 * @example
 * expect(conformanceProblems(result, ['ping'])).toEqual([]);
 */
export function conformanceProblems(
  result: ConformanceResult,
  expectedScenarios: readonly string[],
  options: { allowInfo?: boolean } = {},
): string[] {
  const problems: string[] = [];
  if (result.timedOut) problems.push('the conformance CLI timed out and was killed');
  if (result.exitCode !== 0) problems.push(`the conformance CLI exited with ${result.exitCode ?? result.signal}`);
  for (const scenario of expectedScenarios) {
    const checks = result.scenarios.get(scenario);
    if (!checks?.length) problems.push(`${scenario}: no checks recorded`);
  }
  for (const [scenario, checks] of result.scenarios) {
    if (!expectedScenarios.includes(scenario)) problems.push(`${scenario}: ran but was not expected`);
    for (const check of checks) {
      // Client scenarios record every request their mock servers saw as INFO: a log, not a verdict.
      if (check.status !== 'SUCCESS' && !(options.allowInfo && check.status === 'INFO'))
        problems.push(
          `${scenario}: ${check.status} ${check.id} (${check.description})${check.errorMessage ? `: ${check.errorMessage}` : ''}`,
        );
    }
  }
  return problems;
}

/**
 * The CLI writes <dir>/<command prefix>-<scenario>-<ISO timestamp with - for : and .>/checks.json
 * (client scenarios: <dir>/<scenario with its slash>-<timestamp>/checks.json, no prefix).
 */
async function readChecks(outDir: string, command: ConformanceCommand): Promise<Map<string, ConformanceCheck[]>> {
  const prefix = command === 'authorization' ? 'authorization-server-' : 'server-';
  const scenarios = new Map<string, ConformanceCheck[]>();
  for (const entry of await readdir(outDir, { recursive: true })) {
    if (!entry.endsWith('checks.json')) continue;
    // Client scenario names have a slash (auth/metadata-default): their directory is nested.
    const parts = entry.split(/[\\/]/).slice(0, -1);
    const dir = command === 'client' ? parts.join('/') : (parts.at(-1) ?? '');
    const name = /^(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/.exec(dir)?.[1];
    const scenario = command === 'client' ? (name ?? dir) : name?.startsWith(prefix) ? name.slice(prefix.length) : dir;
    const checks = JSON.parse(await readFile(join(outDir, entry), 'utf8')) as ConformanceCheck[];
    scenarios.set(scenario, [...(scenarios.get(scenario) ?? []), ...checks]);
  }
  return scenarios;
}
