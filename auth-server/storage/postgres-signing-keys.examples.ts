/** Type-checked examples for postgres-signing-keys.ts (its JSDoc shows these regions). */
import type { Pool } from 'pg';
import { PostgresSigningKeyStore } from './postgres-signing-keys.ts';

export async function PostgresSigningKeyStoreExample(pool: Pool) {
  //#region PostgresSigningKeyStore
  const rows = new PostgresSigningKeyStore(pool, '"public"');
  const { generation } = await rows.read();
  //#endregion PostgresSigningKeyStore
}
