/** Type-checked examples for sqlite-accounts.ts (its JSDoc shows these regions). */
import type { DatabaseSync } from 'node:sqlite';
import { SqliteAccountStore } from './sqlite-accounts.ts';

export async function SqliteAccountStoreExample(db: DatabaseSync) {
  //#region SqliteAccountStore
  const accounts = new SqliteAccountStore(db, Date.now);
  await accounts.add({ username: 'alice', password: 'secret', roles: ['admin'] });
  //#endregion SqliteAccountStore
}
