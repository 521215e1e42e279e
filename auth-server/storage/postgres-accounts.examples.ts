/** Type-checked examples for postgres-accounts.ts (its JSDoc shows these regions). */
import type { Pool } from 'pg';
import { PostgresAccountStore } from './postgres-accounts.ts';

export async function PostgresAccountStoreExample(pool: Pool) {
  //#region PostgresAccountStore
  const accounts = new PostgresAccountStore(pool, '"public"', Date.now);
  await accounts.add({ username: 'alice', password: 'secret', roles: ['admin'] });
  //#endregion PostgresAccountStore
}
