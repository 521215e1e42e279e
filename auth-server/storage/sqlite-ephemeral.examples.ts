/** Type-checked examples for sqlite-ephemeral.ts (its JSDoc shows these regions). */
import type { DatabaseSync } from 'node:sqlite';
import { attachEphemeral } from './sqlite-ephemeral.ts';

export function attachEphemeralExample(db: DatabaseSync) {
  //#region attachEphemeral
  attachEphemeral(db, './data');
  db.prepare('SELECT * FROM ephemeral.token_locks');
  //#endregion attachEphemeral
}
