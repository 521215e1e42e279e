import type { DatabaseSync } from 'node:sqlite';
import { EPHEMERAL } from './sqlite-ephemeral.ts';
import type { LockStore, ReplayEntry, ReplayStore } from './store.ts';
import { sqliteTransaction } from './sqlite-transaction.ts';

/**
 * Token-request leases in the attached ephemeral file, so several processes sharing DATA_DIR serialize too.
 * The insert takes a free key or an expired lease in one statement: no read-then-write race.
 *
 * ```ts source="./sqlite-token-requests.examples.ts#SqliteLockStore"
 * const locks = new SqliteLockStore(db, Date.now);
 * if (await locks.acquire('refresh_token:abc', 'owner-1', 10_000)) {
 *   await locks.release('refresh_token:abc', 'owner-1'); // when the response is sent
 * }
 * ```
 */
export class SqliteLockStore implements LockStore {
  readonly #now: () => number;
  readonly #acquire;
  readonly #release;
  readonly #inTransaction;
  readonly #replays: SqliteReplayStore;

  constructor(db: DatabaseSync, now: () => number) {
    this.#now = now;
    // A plain BEGIN: its first statement writes, so it takes the ephemeral file's write lock only
    // (IMMEDIATE would lock auth.db as well).
    this.#inTransaction = sqliteTransaction(db);
    this.#replays = new SqliteReplayStore(db, now);
    this.#acquire = db.prepare(`
      INSERT INTO ${EPHEMERAL}.token_locks (key, owner, expires_at) VALUES (:key, :owner, :expiresAt)
      ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
      WHERE token_locks.expires_at <= :now`);
    this.#release = db.prepare(`DELETE FROM ${EPHEMERAL}.token_locks WHERE key = :key AND owner = :owner`);
  }

  async acquire(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    return Number(this.#acquire.run({ key, owner, expiresAt: now + ttlMs, now }).changes) > 0;
  }

  async release(key: string, owner: string, replay?: { entry: ReplayEntry; ttlMs: number }): Promise<void> {
    if (!replay) {
      this.#release.run({ key, owner });
      return;
    }
    // One transaction, so one commit (WAL write and file locks) for both: 6 fewer fcntl calls per refresh.
    this.#inTransaction(() => {
      this.#replays.putNow(key, replay.entry, replay.ttlMs);
      this.#release.run({ key, owner });
    });
  }
}

/**
 * Replayable token responses in the attached ephemeral file.
 *
 * ```ts source="./sqlite-token-requests.examples.ts#SqliteReplayStore"
 * await new SqliteReplayStore(db, Date.now).put('refresh_token:abc', { fingerprint, body }, 5_000);
 * ```
 */
export class SqliteReplayStore implements ReplayStore {
  readonly #now: () => number;
  readonly #put;
  readonly #get;

  constructor(db: DatabaseSync, now: () => number) {
    this.#now = now;
    this.#put = db.prepare(`
      INSERT INTO ${EPHEMERAL}.token_replays (key, fingerprint, body, expires_at) VALUES (:key, :fingerprint, :body, :expiresAt)
      ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, body = excluded.body, expires_at = excluded.expires_at`);
    this.#get = db.prepare(`SELECT fingerprint, body FROM ${EPHEMERAL}.token_replays WHERE key = :key AND expires_at > :now`);
  }

  async put(key: string, entry: ReplayEntry, ttlMs: number): Promise<void> {
    this.putNow(key, entry, ttlMs);
  }

  /** put, synchronously: for a caller's own transaction. */
  putNow(key: string, entry: ReplayEntry, ttlMs: number): void {
    this.#put.run({ key, fingerprint: entry.fingerprint, body: entry.body, expiresAt: this.#now() + ttlMs });
  }

  async get(key: string): Promise<ReplayEntry | undefined> {
    const row = this.#get.get({ key, now: this.#now() }) as { fingerprint: string; body: string } | undefined;
    return row ? { fingerprint: row.fingerprint, body: row.body } : undefined;
  }
}
