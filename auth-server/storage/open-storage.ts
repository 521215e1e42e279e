import { openPostgresStorage } from './postgres-store.ts';
import { openSqliteStorage } from './sqlite-store.ts';
import type { Storage } from './store.ts';

/**
 * Opens the store the environment asks for: PostgreSQL when DATABASE_URL is set (pool of
 * DATABASE_POOL_SIZE connections, default 10), otherwise SQLite in DATA_DIR (default ./data).
 * Async because a PostgreSQL store must connect and migrate first.
 *
 * @example
 * const storage = await openStorage(process.env);
 */
export async function openStorage(
  env: Record<string, string | undefined>,
  options: { onError?: (error: Error) => void } = {},
): Promise<Storage> {
  if (env.DATABASE_URL) {
    const poolSize = Number(env.DATABASE_POOL_SIZE);
    return openPostgresStorage(env.DATABASE_URL, {
      poolSize: Number.isInteger(poolSize) && poolSize > 0 ? poolSize : undefined,
      onError: options.onError,
    });
  }
  return openSqliteStorage(env.DATA_DIR || './data', {
    synchronous: env.AUTH_SQLITE_SYNCHRONOUS?.toLowerCase() === 'full' ? 'FULL' : 'NORMAL',
  });
}
