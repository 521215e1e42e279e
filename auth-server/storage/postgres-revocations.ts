import type { Pool } from 'pg';
import { toToken } from './sqlite-revocations.ts';
import {
  PersonalAccessTokenExistsError,
  type PersonalAccessToken,
  type PersonalAccessTokenStore,
  type RevocationEntry,
  type RevocationStore,
  type RevocationType,
} from './store.ts';

/** The revocation feed in a PostgreSQL schema (already quoted), table `revocations`. */
export class PostgresRevocationStore implements RevocationStore {
  readonly #pool: Pool;
  readonly #table: string;
  readonly #now: () => number;

  constructor(pool: Pool, schema: string, now: () => number) {
    this.#pool = pool;
    this.#table = `${schema}.revocations`;
    this.#now = now;
  }

  async add(entry: RevocationEntry): Promise<void> {
    // greatest(): a second revocation of the same thing never shortens the first one's reach.
    await this.#pool.query(
      `INSERT INTO ${this.#table} AS r (type, id, revoked_at, recorded_at, expires_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (type, id) DO UPDATE SET revoked_at = greatest(r.revoked_at, excluded.revoked_at),
         expires_at = greatest(r.expires_at, excluded.expires_at), recorded_at = excluded.recorded_at`,
      [entry.type, entry.id, entry.at, this.#now(), entry.until],
    );
  }

  async recordedSince(recordedSince: number): Promise<RevocationEntry[]> {
    const { rows } = await this.#pool.query<{ type: RevocationType; id: string; revoked_at: string; expires_at: string }>(
      `SELECT type, id, revoked_at, expires_at FROM ${this.#table}
       WHERE recorded_at >= $1 AND expires_at > $2 ORDER BY recorded_at, type COLLATE "C", id COLLATE "C"`,
      [recordedSince, this.#now()],
    );
    return rows.map((row) => ({ type: row.type, id: row.id, at: Number(row.revoked_at), until: Number(row.expires_at) }));
  }
}

const TOKEN_COLUMNS = 'id, account_id, name, scope, resource, created_by, created_at, expires_at, last_used_at';

/** Personal access tokens in a PostgreSQL schema (already quoted), table `personal_access_tokens`. */
export class PostgresPersonalAccessTokenStore implements PersonalAccessTokenStore {
  readonly #pool: Pool;
  readonly #table: string;
  readonly #now: () => number;

  constructor(pool: Pool, schema: string, now: () => number) {
    this.#pool = pool;
    this.#table = `${schema}.personal_access_tokens`;
    this.#now = now;
  }

  async add(token: PersonalAccessToken, hash: string): Promise<void> {
    // An expired token of the same name is replaced: names are unique among live tokens only.
    const { rowCount } = await this.#pool.query(
      `INSERT INTO ${this.#table} AS t (${TOKEN_COLUMNS}, token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9)
       ON CONFLICT (account_id, name) DO UPDATE SET id = excluded.id, scope = excluded.scope, resource = excluded.resource,
         created_by = excluded.created_by, created_at = excluded.created_at, expires_at = excluded.expires_at,
         last_used_at = NULL, token_hash = excluded.token_hash
       WHERE t.expires_at <= $10`,
      [
        token.id,
        token.accountId,
        token.name,
        token.scope,
        token.resource,
        token.createdBy,
        token.createdAt,
        token.expiresAt,
        hash,
        this.#now(),
      ],
    );
    if (rowCount === 0) throw new PersonalAccessTokenExistsError(token.name);
  }

  async findByHash(hash: string): Promise<PersonalAccessToken | undefined> {
    const { rows } = await this.#pool.query(`SELECT ${TOKEN_COLUMNS} FROM ${this.#table} WHERE token_hash = $1 AND expires_at > $2`, [
      hash,
      this.#now(),
    ]);
    return toToken(rows[0]);
  }

  async list(accountId?: string): Promise<PersonalAccessToken[]> {
    const { rows } = await this.#pool.query(
      `SELECT ${TOKEN_COLUMNS} FROM ${this.#table} WHERE ($1::text IS NULL OR account_id = $1) AND expires_at > $2
       ORDER BY account_id COLLATE "C", name COLLATE "C"`,
      [accountId ?? null, this.#now()],
    );
    return rows.map((row) => toToken(row)!);
  }

  async remove(accountId: string, name: string): Promise<PersonalAccessToken | undefined> {
    const { rows } = await this.#pool.query(
      `DELETE FROM ${this.#table} WHERE account_id = $1 AND name = $2 AND expires_at > $3 RETURNING ${TOKEN_COLUMNS}`,
      [accountId, name, this.#now()],
    );
    return toToken(rows[0]);
  }

  async touch(id: string, minIntervalMs: number): Promise<void> {
    const now = this.#now();
    await this.#pool.query(`UPDATE ${this.#table} SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)`, [
      id,
      now,
      now - minIntervalMs,
    ]);
  }
}
