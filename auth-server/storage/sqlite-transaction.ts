import type { DatabaseSync } from 'node:sqlite';

/**
 * Returns a function that runs `work` inside one SQLite transaction on `db`: committed when it
 * returns, rolled back when it throws. `work` is synchronous, so nothing else in this process runs
 * inside the transaction. BEGIN, COMMIT and ROLLBACK are prepared once, for the hot paths (a
 * refresh rotation runs two transactions). `immediate` takes the write lock at BEGIN; a plain
 * BEGIN takes it at the first write, and only on the file that statement writes.
 *
 * ```ts source="./sqlite-transaction.examples.ts#sqliteTransaction"
 * const inTransaction = sqliteTransaction(db);
 * inTransaction(() => {
 *   consume.run({ id: 'old' });
 *   insert.run({ id: 'new' });
 * });
 * ```
 */
export function sqliteTransaction(db: DatabaseSync, mode: 'deferred' | 'immediate' = 'deferred'): <T>(work: () => T) => T {
  const begin = db.prepare(mode === 'immediate' ? 'BEGIN IMMEDIATE' : 'BEGIN');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  return (work) => {
    begin.run();
    try {
      const result = work();
      commit.run();
      return result;
    } catch (error) {
      rollback.run();
      throw error;
    }
  };
}
