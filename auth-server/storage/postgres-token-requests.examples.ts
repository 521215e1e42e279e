/** Type-checked examples for postgres-token-requests.ts (its JSDoc shows these regions). */
import type { Pool } from 'pg';
import { PostgresLockStore, PostgresReplayStore } from './postgres-token-requests.ts';
import type { ReplayEntry } from './store.ts';

export async function PostgresLockStoreExample(pool: Pool) {
  //#region PostgresLockStore
  const locks = new PostgresLockStore(pool, '"public"', Date.now);
  if (await locks.acquire('refresh_token:abc', 'owner-1', 10_000)) {
    await locks.release('refresh_token:abc', 'owner-1'); // when the response is sent
  }
  //#endregion PostgresLockStore
}

export async function PostgresReplayStoreExample(pool: Pool, { fingerprint, body }: ReplayEntry) {
  //#region PostgresReplayStore
  await new PostgresReplayStore(pool, '"public"', Date.now).put('refresh_token:abc', { fingerprint, body }, 5_000);
  //#endregion PostgresReplayStore
}
