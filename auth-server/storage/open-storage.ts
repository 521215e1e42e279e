import { openSqliteStorage } from './sqlite-store.ts';
import type { Storage } from './store.ts';

/** Where accounts, grants and tokens live: read from the environment by config.ts (loadConfig, loadStorageConfig). */
export interface StorageOptions {
  /** DATA_DIR, absolute: the SQLite database when databaseUrl is unset. */
  dataDir: string;
  /** DATABASE_URL: postgres://… selects PostgreSQL. */
  databaseUrl: string | undefined;
  /** DATABASE_POOL_SIZE: PostgreSQL connections of this process. */
  databasePoolSize: number;
  /** AUTH_SQLITE_SYNCHRONOUS: SQLite durability. */
  sqliteSynchronous: 'normal' | 'full';
}

/**
 * Opens the store the configuration asks for: PostgreSQL when databaseUrl is set, otherwise SQLite
 * in dataDir. Async because a PostgreSQL store must connect and migrate first.
 *
 * ```ts source="./open-storage.examples.ts#openStorage"
 * const storage = await openStorage(loadConfig(process.env), { onError: (e) => log.warn(e) });
 * ```
 */
export async function openStorage(storage: StorageOptions, options: { onError?: (error: Error) => void } = {}): Promise<Storage> {
  if (storage.databaseUrl) {
    // pg and the PostgreSQL store are loaded only when selected: a SQLite server idles without them (bench/FINDINGS.md).
    const { openPostgresStorage } = await import('./postgres-store.ts');
    return openPostgresStorage(storage.databaseUrl, { poolSize: storage.databasePoolSize, onError: options.onError });
  }
  return openSqliteStorage(storage.dataDir, { synchronous: storage.sqliteSynchronous === 'full' ? 'FULL' : 'NORMAL' });
}
