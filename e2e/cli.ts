import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './stack.ts';

export interface CliRun {
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stderr (where prompts go). */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exit: Promise<number | null>;
}

/** A fresh cache directory ($XDG_CONFIG_HOME) for one test's invocations. */
export const freshConfigHome = () => mkdtemp(join(tmpdir(), 'cli-config-'));

/**
 * Runs `node client/main.ts …` (what `npm run client --` and the mcp-oauth bin run) without a
 * terminal, with its own XDG_CONFIG_HOME and no browser to open.
 */
export function runCli(args: string[], configHome: string, env: Record<string, string> = {}): CliRun {
  const child = spawn(process.execPath, ['client/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, XDG_CONFIG_HOME: configHome, BROWSER: '', DISPLAY: '', WAYLAND_DISPLAY: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    for (const l of listeners) l();
  });
  const exit = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
  let exited = false;
  void exit.then(() => {
    exited = true;
    for (const l of listeners) l();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  void exit.then(() => clearTimeout(timer));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exit,
    waitForStderr(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => finish(() => reject(new Error(`no ${pattern} in stderr:\n${stderr}\nstdout:\n${stdout}`))), timeoutMs);
        const check = () => {
          const m = pattern.exec(stderr);
          if (m) finish(() => resolve(m));
          else if (exited) finish(() => reject(new Error(`the CLI exited before printing ${pattern}:\n${stderr}\nstdout:\n${stdout}`)));
        };
        const finish = (f: () => void) => {
          clearTimeout(t);
          listeners.delete(check);
          f();
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** Runs the CLI to the end: exit code, stdout, stderr. */
export async function cli(args: string[], configHome: string, env: Record<string, string> = {}) {
  const run = runCli(args, configHome, env);
  const code = await run.exit;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}
