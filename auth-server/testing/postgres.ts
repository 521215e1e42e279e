import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Where PostgreSQL tests connect: set by vitest's global setup (vitest.global-setup.ts) to the
 * server it started or was given. There is no way to skip them: an unreachable database fails.
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

let reachable: Promise<void> | undefined;

/**
 * Resolves when the test database answers; rejects with a message that says how to skip.
 *
 * @example
 * beforeAll(() => requirePostgres());
 */
export function requirePostgres(): Promise<void> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
    } catch (error) {
      throw new Error(
        `PostgreSQL not reachable at ${redact(TEST_DATABASE_URL)} (${(error as Error).message}); run the tests through vitest (its global setup provides one) or set PG_TESTS_URL`,
        { cause: error },
      );
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return reachable;
}

export interface TestSchema {
  /** TEST_DATABASE_URL with `?schema=` naming the fresh schema. */
  url: string;
  schema: string;
  /** DROP SCHEMA … CASCADE. */
  drop(): Promise<void>;
}

/**
 * A unique schema name for one test (created by the store's migration, dropped by `drop`).
 *
 * @example
 * const { url, drop } = await createTestSchema();
 * const storage = await openPostgresStorage(url);
 * …; await storage.close(); await drop();
 */
export async function createTestSchema(): Promise<TestSchema> {
  await requirePostgres();
  const schema = `test_${process.pid}_${randomBytes(6).toString('hex')}`;
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('schema', schema);
  return {
    url: url.href,
    schema,
    async drop() {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

function redact(url: string): string {
  const parsed = URL.parse(url);
  if (!parsed) return '(unparseable TEST_DATABASE_URL)';
  if (parsed.password) parsed.password = '***';
  return parsed.href;
}
