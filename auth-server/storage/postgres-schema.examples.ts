/** Type-checked examples for postgres-schema.ts (its JSDoc shows these regions). */
import type { Pool } from 'pg';
import { migrate } from './postgres-schema.ts';

export async function migrateExample(pool: Pool) {
  //#region migrate
  await migrate(pool, 'public');
  //#endregion migrate
}
