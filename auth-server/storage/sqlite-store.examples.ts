/** Type-checked examples for sqlite-store.ts (its JSDoc shows these regions). */
import { openSqliteStorage } from './sqlite-store.ts';

export async function openSqliteStorageExample() {
  //#region openSqliteStorage
  const storage = openSqliteStorage('./data');
  await storage.accounts.add({ username: 'alice', password: 'secret' });
  await storage.close();
  //#endregion openSqliteStorage
}
