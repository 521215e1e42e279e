import type { TestProject } from 'vitest/node';
import { startTestPostgres } from './auth-server/testing/postgres-server.ts';

/**
 * Once per `vitest run` (also `npx vitest run one.test.ts`): a real PostgreSQL for the tests that
 * need one, given (PG_TESTS_URL / TEST_DATABASE_URL / DATABASE_URL) or started from npm. Workers
 * inherit TEST_DATABASE_URL. DATABASE_URL is taken out of the environment so that servers the
 * tests spawn keep their own storage choice (most expect SQLite).
 */
export default async function setup(_project: TestProject) {
  const server = await startTestPostgres(process.env);
  process.env.TEST_DATABASE_URL = server.url;
  delete process.env.DATABASE_URL;
  return () => server.stop();
}
