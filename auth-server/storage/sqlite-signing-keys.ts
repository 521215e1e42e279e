import type { DatabaseSync } from 'node:sqlite';
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
 * Signing-key rows in the SQLite store. `replace` runs in one IMMEDIATE transaction: the
 * generation check and the rewrite cannot interleave with another process's.
 *
 * ```ts source="./sqlite-signing-keys.examples.ts#SqliteSigningKeyStore"
 * const rows = new SqliteSigningKeyStore(db);
 * const { generation } = await rows.read();
 * ```
 */
export class SqliteSigningKeyStore implements SigningKeyRowStore {
  readonly #db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  async generation(): Promise<number> {
    const row = this.#db.prepare('SELECT generation FROM signing_key_generation WHERE id = 1').get() as { generation: number } | undefined;
    return row?.generation ?? 0;
  }

  async read(): Promise<{ generation: number; rows: SigningKeyRow[] }> {
    // One synchronous connection: nothing writes between the two statements of this call.
    const generation = await this.generation();
    const rows = this.#db.prepare('SELECT * FROM signing_keys ORDER BY created_at, kid').all() as unknown as Row[];
    return { generation, rows: rows.map(fromRow) };
  }

  async replace(expected: number, next: number, rows: SigningKeyRow[]): Promise<boolean> {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const changed = this.#db
        .prepare('UPDATE signing_key_generation SET generation = :next WHERE id = 1 AND generation = :expected')
        .run({ next, expected });
      if (changed.changes !== 1) {
        this.#db.exec('ROLLBACK');
        return false;
      }
      this.#db.exec('DELETE FROM signing_keys');
      const insert = this.#db.prepare(`
        INSERT INTO signing_keys (kid, alg, state, created_at, activated_at, retiring_since, remove_after, sealed_jwk)
        VALUES (:kid, :alg, :state, :createdAt, :activatedAt, :retiringSince, :removeAfter, :sealedJwk)`);
      for (const row of rows) insert.run({ ...row });
      this.#db.exec('COMMIT');
      return true;
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  async cookieKeys(): Promise<string | undefined> {
    const row = this.#db.prepare('SELECT sealed_keys FROM cookie_keys WHERE id = 1').get() as { sealed_keys: string } | undefined;
    return row?.sealed_keys;
  }

  async putCookieKeys(sealed: string, options: { replace: boolean }): Promise<boolean> {
    const conflict = options.replace ? 'DO UPDATE SET sealed_keys = excluded.sealed_keys' : 'DO NOTHING';
    const result = this.#db
      .prepare(`INSERT INTO cookie_keys (id, sealed_keys) VALUES (1, :sealed) ON CONFLICT (id) ${conflict}`)
      .run({ sealed });
    return result.changes === 1;
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
