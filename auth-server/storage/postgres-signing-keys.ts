import type { Pool } from 'pg';
import type { SigningKeyRow, SigningKeyRowStore } from './signing-key-rows.ts';

interface Row {
  kid: string;
  alg: string;
  state: string;
  created_at: string;
  activated_at: string | null;
  retiring_since: string | null;
  remove_after: string | null;
  sealed_jwk: string;
}

/**
 * Signing-key rows in a PostgreSQL schema (already quoted). `replace` locks the generation row
 * (SELECT … FOR UPDATE) so two rotations from two places never both apply; `read` takes the
 * generation and the rows from one REPEATABLE READ snapshot.
 *
 * ```ts source="./postgres-signing-keys.examples.ts#PostgresSigningKeyStore"
 * const rows = new PostgresSigningKeyStore(pool, '"public"');
 * const { generation } = await rows.read();
 * ```
 */
export class PostgresSigningKeyStore implements SigningKeyRowStore {
  readonly #pool: Pool;
  readonly #keys: string;
  readonly #generation: string;
  readonly #cookieKeys: string;

  constructor(pool: Pool, schema: string) {
    this.#pool = pool;
    this.#cookieKeys = `${schema}.cookie_keys`;
    this.#keys = `${schema}.signing_keys`;
    this.#generation = `${schema}.signing_key_generation`;
  }

  async generation(): Promise<number> {
    const { rows } = await this.#pool.query<{ generation: string }>(`SELECT generation FROM ${this.#generation} WHERE id = 1`);
    return Number(rows[0]?.generation ?? 0);
  }

  async read(): Promise<{ generation: number; rows: SigningKeyRow[] }> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const generation = await client.query<{ generation: string }>(`SELECT generation FROM ${this.#generation} WHERE id = 1`);
      const { rows } = await client.query<Row>(`SELECT * FROM ${this.#keys} ORDER BY created_at, kid`);
      await client.query('COMMIT');
      client.release();
      return { generation: Number(generation.rows[0]?.generation ?? 0), rows: rows.map(fromRow) };
    } catch (error) {
      client.release(error instanceof Error ? error : true);
      throw error;
    }
  }

  async replace(expected: number, next: number, rows: SigningKeyRow[]): Promise<boolean> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const current = await client.query<{ generation: string }>(`SELECT generation FROM ${this.#generation} WHERE id = 1 FOR UPDATE`);
      if (Number(current.rows[0]?.generation ?? 0) !== expected) {
        await client.query('ROLLBACK');
        client.release();
        return false;
      }
      await client.query(`UPDATE ${this.#generation} SET generation = $1 WHERE id = 1`, [next]);
      await client.query(`DELETE FROM ${this.#keys}`);
      for (const row of rows) {
        await client.query(
          `INSERT INTO ${this.#keys} (kid, alg, state, created_at, activated_at, retiring_since, remove_after, sealed_jwk)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [row.kid, row.alg, row.state, row.createdAt, row.activatedAt, row.retiringSince, row.removeAfter, row.sealedJwk],
        );
      }
      await client.query('COMMIT');
      client.release();
      return true;
    } catch (error) {
      // Destroying the connection rolls the transaction back.
      client.release(error instanceof Error ? error : true);
      throw error;
    }
  }

  async cookieKeys(): Promise<string | undefined> {
    const { rows } = await this.#pool.query<{ sealed_keys: string }>(`SELECT sealed_keys FROM ${this.#cookieKeys} WHERE id = 1`);
    return rows[0]?.sealed_keys;
  }

  async putCookieKeys(sealed: string, options: { replace: boolean }): Promise<boolean> {
    const conflict = options.replace ? 'DO UPDATE SET sealed_keys = excluded.sealed_keys' : 'DO NOTHING';
    const { rowCount } = await this.#pool.query(
      `INSERT INTO ${this.#cookieKeys} (id, sealed_keys) VALUES (1, $1) ON CONFLICT (id) ${conflict}`,
      [sealed],
    );
    return rowCount === 1;
  }
}

function fromRow(row: Row): SigningKeyRow {
  return {
    kid: row.kid,
    alg: row.alg,
    state: row.state,
    createdAt: row.created_at,
    activatedAt: row.activated_at,
    retiringSince: row.retiring_since,
    removeAfter: row.remove_after,
    sealedJwk: row.sealed_jwk,
  };
}
