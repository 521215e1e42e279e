import { openSqliteStorage } from './sqlite-store.ts';
import type { Storage } from './store.ts';

/**
 * Opens the store the environment asks for: PostgreSQL when DATABASE_URL is set, otherwise
 * SQLite in DATA_DIR (default ./data). Async because a PostgreSQL store must connect first.
 *
 * @example
 * const storage = await openStorage(process.env);
 */
export async function openStorage(env: Record<string, string | undefined>): Promise<Storage> {
  if (env.DATABASE_URL) {
    throw new Error('PostgreSQL storage is not implemented yet: unset DATABASE_URL to use SQLite in DATA_DIR');
  }
  return openSqliteStorage(env.DATA_DIR || './data');
}
