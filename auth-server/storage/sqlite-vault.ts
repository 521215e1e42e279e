import type { DatabaseSync } from 'node:sqlite';
import type { VaultRow, VaultStore } from './store.ts';

/**
 * The token vault's rows in the SQLite store (`upstream_tokens`). Every write is one statement:
 * `replace` compares the version in its WHERE, so two refreshes cannot both land.
 */
export class SqliteVaultStore implements VaultStore {
  readonly #now: () => number;
  readonly #get;
  readonly #put;
  readonly #replace;
  readonly #remove;

  constructor(db: DatabaseSync, now: () => number) {
    this.#now = now;
    this.#get = db.prepare('SELECT sealed, version, updated_at FROM upstream_tokens WHERE account_id = ? AND upstream_id = ?');
    this.#put = db.prepare(`
      INSERT INTO upstream_tokens (account_id, upstream_id, sealed, version, updated_at)
      VALUES (:accountId, :upstreamId, :sealed, 1, :now)
      ON CONFLICT (account_id, upstream_id) DO UPDATE SET
        sealed = excluded.sealed, version = upstream_tokens.version + 1, updated_at = excluded.updated_at`);
    this.#replace = db.prepare(`
      UPDATE upstream_tokens SET sealed = :sealed, version = version + 1, updated_at = :now
      WHERE account_id = :accountId AND upstream_id = :upstreamId AND version = :version`);
    this.#remove = db.prepare('DELETE FROM upstream_tokens WHERE account_id = ? AND upstream_id = ?');
  }

  async get(accountId: string, upstreamId: string): Promise<VaultRow | undefined> {
    const row = this.#get.get(accountId, upstreamId) as { sealed: string; version: number; updated_at: number } | undefined;
    return row && { sealed: row.sealed, version: Number(row.version), updatedAt: Number(row.updated_at) };
  }

  async put(accountId: string, upstreamId: string, sealed: string): Promise<void> {
    this.#put.run({ accountId, upstreamId, sealed, now: this.#now() });
  }

  async replace(accountId: string, upstreamId: string, version: number, sealed: string): Promise<boolean> {
    return Number(this.#replace.run({ accountId, upstreamId, version, sealed, now: this.#now() }).changes) > 0;
  }

  async remove(accountId: string, upstreamId: string): Promise<boolean> {
    return Number(this.#remove.run(accountId, upstreamId).changes) > 0;
  }
}
