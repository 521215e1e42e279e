/** Type-checked examples for postgres-store.ts (its JSDoc shows these regions). */
import { openPostgresStorage } from './postgres-store.ts';

export async function openPostgresStorageExample() {
  //#region openPostgresStorage
  const storage = await openPostgresStorage('postgres://auth@db/auth?schema=oauth', { poolSize: 10 });
  await storage.accounts.add({ username: 'alice', password: 'secret' });
  await storage.close();
  //#endregion openPostgresStorage
}
