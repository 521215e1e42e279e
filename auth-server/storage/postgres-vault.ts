import type { Pool } from 'pg';
import type { VaultRow, VaultStore } from './store.ts';

/**
 * The token vault's rows in the PostgreSQL store (`upstream_tokens`). Every write is one
 * autocommitted statement: `replace` compares the version in its WHERE, so two instances
 * refreshing the same token cannot both land.
 */
export class PostgresVaultStore implements VaultStore {
  readonly #pool: Pool;
  readonly #table: string;
  readonly #now: () => number;

  /** `schema` is already quoted (postgres-schema.ts quoteSchema). */
  constructor(pool: Pool, schema: string, now: () => number) {
    this.#pool = pool;
    this.#table = `${schema}.upstream_tokens`;
    this.#now = now;
  }

  async get(accountId: string, upstreamId: string): Promise<VaultRow | undefined> {
    const { rows } = await this.#pool.query<{ sealed: string; version: number; updated_at: string }>(
      `SELECT sealed, version, updated_at FROM ${this.#table} WHERE account_id = $1 AND upstream_id = $2`,
      [accountId, upstreamId],
    );
    const row = rows[0];
    return row && { sealed: row.sealed, version: Number(row.version), updatedAt: Number(row.updated_at) };
  }

  async put(accountId: string, upstreamId: string, sealed: string): Promise<void> {
    await this.#pool.query(
      `INSERT INTO ${this.#table} AS t (account_id, upstream_id, sealed, version, updated_at) VALUES ($1, $2, $3, 1, $4)
       ON CONFLICT (account_id, upstream_id) DO UPDATE SET sealed = excluded.sealed, version = t.version + 1, updated_at = excluded.updated_at`,
      [accountId, upstreamId, sealed, this.#now()],
    );
  }

  async replace(accountId: string, upstreamId: string, version: number, sealed: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query(
      `UPDATE ${this.#table} SET sealed = $4, version = version + 1, updated_at = $5
       WHERE account_id = $1 AND upstream_id = $2 AND version = $3`,
      [accountId, upstreamId, version, sealed, this.#now()],
    );
    return (rowCount ?? 0) > 0;
  }

  async remove(accountId: string, upstreamId: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query(`DELETE FROM ${this.#table} WHERE account_id = $1 AND upstream_id = $2`, [
      accountId,
      upstreamId,
    ]);
    return (rowCount ?? 0) > 0;
  }
}
