/** Type-checked examples for sqlite-transaction.ts (its JSDoc shows these regions). */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { sqliteTransaction } from './sqlite-transaction.ts';

export function sqliteTransactionExample(db: DatabaseSync, consume: StatementSync, insert: StatementSync) {
  //#region sqliteTransaction
  const inTransaction = sqliteTransaction(db);
  inTransaction(() => {
    consume.run({ id: 'old' });
    insert.run({ id: 'new' });
  });
  //#endregion sqliteTransaction
}
