import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';

/** The schema name the ephemeral tables are reached by (`ephemeral.token_locks`). */
export const EPHEMERAL = 'ephemeral';

/**
 * Attaches `${dataDir}/token-requests.db` for the token-request leases and replays. They live a
 * few seconds and losing them in a crash only ends a lease or a replay early, so this file is
 * never fsynced (synchronous=OFF) whatever auth.db's setting: with FULL a refresh then costs
 * two fsyncs instead of five. Still a file (WAL), so several processes sharing DATA_DIR share it too.
 *
 * ```ts source="./sqlite-ephemeral.examples.ts#attachEphemeral"
 * attachEphemeral(db, './data');
 * db.prepare('SELECT * FROM ephemeral.token_locks');
 * ```
 */
export function attachEphemeral(db: DatabaseSync, dataDir: string): void {
  const file = join(dataDir, 'token-requests.db');
  closeSync(openSync(file, 'a', 0o600));
  db.prepare(`ATTACH DATABASE ? AS ${EPHEMERAL}`).run(file);
  db.exec(`PRAGMA ${EPHEMERAL}.journal_mode = WAL`);
  db.exec(`PRAGMA ${EPHEMERAL}.synchronous = OFF`);
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${EPHEMERAL}.token_locks (
      key        TEXT    NOT NULL PRIMARY KEY,
      owner      TEXT    NOT NULL,
      expires_at INTEGER NOT NULL -- epoch ms; a lease past it is free for the taking
    );
    -- No index on token_locks.expires_at (dropped where an older version made one): every
    -- acquire and release wrote it, one more WAL frame each, and the sweeper's scan of the table
    -- finds only leases in flight and those a crashed holder left.
    DROP INDEX IF EXISTS ${EPHEMERAL}.token_locks_expires_at;
    CREATE TABLE IF NOT EXISTS ${EPHEMERAL}.token_replays (
      key         TEXT    NOT NULL PRIMARY KEY,
      fingerprint TEXT    NOT NULL,
      body        TEXT    NOT NULL,
      expires_at  INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ${EPHEMERAL}.token_replays_expires_at ON token_replays (expires_at);
  `);
}
