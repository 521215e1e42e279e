import type { Pool } from 'pg';
import { prepared, type Prepared } from './postgres-prepared.ts';
import type { LockStore, ReplayEntry, ReplayStore } from './store.ts';

/**
 * Token-request leases in PostgreSQL, shared by every instance. The insert takes a free key or
 * an expired lease in one statement (the row lock makes concurrent takers queue and re-check),
 * so at most one owner holds a live lease.
 *
 * ```ts source="./postgres-token-requests.examples.ts#PostgresLockStore"
 * const locks = new PostgresLockStore(pool, '"public"', Date.now);
 * if (await locks.acquire('refresh_token:abc', 'owner-1', 10_000)) {
 *   await locks.release('refresh_token:abc', 'owner-1'); // when the response is sent
 * }
 * ```
 */
export class PostgresLockStore implements LockStore {
  readonly #pool: Pool;
  readonly #table: string;
  readonly #now: () => number;
  readonly #acquire: Prepared;
  readonly #release: Prepared;
  readonly #releaseWithReplay: Prepared;

  constructor(pool: Pool, schema: string, now: () => number) {
    this.#pool = pool;
    this.#table = `${schema}.token_locks`;
    this.#now = now;
    this.#acquire = prepared(
      `INSERT INTO ${this.#table} AS l (key, owner, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE l.expires_at <= $4`,
    );
    this.#release = prepared(`DELETE FROM ${this.#table} WHERE key = $1 AND owner = $2`);
    // A data-modifying WITH runs whether or not the main statement reads it: both in one statement.
    this.#releaseWithReplay = prepared(
      `WITH replay AS (${replayUpsert(`${schema}.token_replays`, 3)})
       DELETE FROM ${this.#table} WHERE key = $1 AND owner = $2`,
    );
  }

  async acquire(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    const { rowCount } = await this.#pool.query({ ...this.#acquire, values: [key, owner, now + ttlMs, now] });
    return (rowCount ?? 0) > 0;
  }

  async release(key: string, owner: string, replay?: { entry: ReplayEntry; ttlMs: number }): Promise<void> {
    if (!replay) {
      await this.#pool.query({ ...this.#release, values: [key, owner] });
      return;
    }
    await this.#pool.query({
      ...this.#releaseWithReplay,
      values: [key, owner, replay.entry.fingerprint, replay.entry.body, this.#now() + replay.ttlMs],
    });
  }
}

/**
 * Replayable token responses in PostgreSQL, so any instance can answer a duplicate.
 *
 * ```ts source="./postgres-token-requests.examples.ts#PostgresReplayStore"
 * await new PostgresReplayStore(pool, '"public"', Date.now).put('refresh_token:abc', { fingerprint, body }, 5_000);
 * ```
 */
export class PostgresReplayStore implements ReplayStore {
  readonly #pool: Pool;
  readonly #now: () => number;
  readonly #put: Prepared;
  readonly #get: Prepared;

  constructor(pool: Pool, schema: string, now: () => number) {
    this.#pool = pool;
    this.#now = now;
    const table = `${schema}.token_replays`;
    this.#put = prepared(replayUpsert(table, 2));
    this.#get = prepared(`SELECT fingerprint, body FROM ${table} WHERE key = $1 AND expires_at > $2`);
  }

  async put(key: string, entry: ReplayEntry, ttlMs: number): Promise<void> {
    await this.#pool.query({ ...this.#put, values: [key, entry.fingerprint, entry.body, this.#now() + ttlMs] });
  }

  async get(key: string): Promise<ReplayEntry | undefined> {
    const { rows } = await this.#pool.query<ReplayEntry>({ ...this.#get, values: [key, this.#now()] });
    const row = rows[0];
    return row ? { fingerprint: row.fingerprint, body: row.body } : undefined;
  }
}

/** Stores a replay: $1 is the key, then fingerprint, body and expires_at from `$first` on. */
function replayUpsert(table: string, first: number): string {
  return `INSERT INTO ${table} (key, fingerprint, body, expires_at) VALUES ($1, $${first}, $${first + 1}, $${first + 2})
       ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, body = excluded.body, expires_at = excluded.expires_at`;
}
