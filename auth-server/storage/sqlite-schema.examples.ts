/** Type-checked examples for sqlite-schema.ts (its JSDoc shows these regions). */
import { DatabaseSync } from 'node:sqlite';
import { migrate } from './sqlite-schema.ts';

export function migrateExample() {
  //#region migrate
  migrate(new DatabaseSync('auth.db'));
  //#endregion migrate
}
