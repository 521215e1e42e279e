/** Type-checked examples for sqlite-token-requests.ts (its JSDoc shows these regions). */
import type { DatabaseSync } from 'node:sqlite';
import { SqliteLockStore, SqliteReplayStore } from './sqlite-token-requests.ts';
import type { ReplayEntry } from './store.ts';

export async function SqliteLockStoreExample(db: DatabaseSync) {
  //#region SqliteLockStore
  const locks = new SqliteLockStore(db, Date.now);
  if (await locks.acquire('refresh_token:abc', 'owner-1', 10_000)) {
    await locks.release('refresh_token:abc', 'owner-1'); // when the response is sent
  }
  //#endregion SqliteLockStore
}

export async function SqliteReplayStoreExample(db: DatabaseSync, { fingerprint, body }: ReplayEntry) {
  //#region SqliteReplayStore
  await new SqliteReplayStore(db, Date.now).put('refresh_token:abc', { fingerprint, body }, 5_000);
  //#endregion SqliteReplayStore
}
