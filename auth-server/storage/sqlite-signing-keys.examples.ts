/** Type-checked examples for sqlite-signing-keys.ts (its JSDoc shows these regions). */
import { DatabaseSync } from 'node:sqlite';
import { SqliteSigningKeyStore } from './sqlite-signing-keys.ts';

export async function SqliteSigningKeyStoreExample(db: DatabaseSync) {
  //#region SqliteSigningKeyStore
  const rows = new SqliteSigningKeyStore(db);
  const { generation } = await rows.read();
  //#endregion SqliteSigningKeyStore
}
