import pg from 'pg';
import type { Pool } from 'pg';
import { PostgresAccountStore } from './postgres-accounts.ts';
import { PostgresAuditStore } from './postgres-audit.ts';
import { PostgresRefusalStore } from './postgres-refusals.ts';
import { PostgresPersonalAccessTokenStore, PostgresRevocationStore } from './postgres-revocations.ts';
import { prepared, type Prepared } from './postgres-prepared.ts';
import { migrate, quoteSchema } from './postgres-schema.ts';
import { PostgresSigningKeyStore } from './postgres-signing-keys.ts';
import { PostgresLockStore, PostgresReplayStore } from './postgres-token-requests.ts';
import { PostgresVaultStore } from './postgres-vault.ts';
import {
  AUDIT_EVENTS_KEPT,
  CLOCK_TOLERANCE_SECONDS,
  GRANTABLE_MODELS,
  modelKey,
  type ModelPayload,
  type ModelStore,
  type Storage,
} from './store.ts';

export interface PostgresStorageOptions {
  /** The clock, in epoch milliseconds. Tests inject one to move time without waiting. */
  now?: () => number;
  /** Connections per instance (DATABASE_POOL_SIZE). Total across instances must fit max_connections. */
  poolSize?: number;
  /** Schema holding the tables; overrides `?schema=` in the URL; default `public`. */
  schema?: string;
  /** How long to wait for a free or new connection before a query fails (ms). */
  connectionTimeoutMs?: number;
  /** Told about errors on idle connections (the database restarted, …); the pool replaces them. */
  onError?: (error: Error) => void;
  /** How many audit events to keep (default AUDIT_EVENTS_KEPT); tests make it small. */
  auditEventsKept?: number;
}

const SWEEP_BATCH = 500;

/**
 * Opens the PostgreSQL store: a connection pool, then the schema migrated to the latest version
 * (safe when several instances start at once). `?schema=name` in the URL, or `options.schema`,
 * keeps the tables in their own schema, created if missing. Every write is a single autocommitted
 * statement, so a resolved promise means a committed row (with the server's default
 * synchronous_commit = on, flushed to its WAL).
 *
 * ```ts source="./postgres-store.examples.ts#openPostgresStorage"
 * const storage = await openPostgresStorage('postgres://auth@db/auth?schema=oauth', { poolSize: 10 });
 * await storage.accounts.add({ username: 'alice', password: 'secret' });
 * await storage.close();
 * ```
 */
export async function openPostgresStorage(url: string, options: PostgresStorageOptions = {}): Promise<Storage> {
  const { connectionString, schema: urlSchema } = splitSchema(url);
  const schemaName = options.schema ?? urlSchema ?? 'public';
  const schema = quoteSchema(schemaName);
  const now = options.now ?? Date.now;
  const pool = new pg.Pool({
    connectionString,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    application_name: 'mcp-oauth-stack auth-server',
  });
  // Without a listener, an idle connection dropped by the server would crash the process.
  pool.on('error', (error) => options.onError?.(error));
  try {
    await migrate(pool, schemaName);
  } catch (error) {
    await pool.end();
    throw error;
  }

  let closed: Promise<void> | undefined;
  return {
    models: new PostgresModelStore(pool, schema, now),
    accounts: new PostgresAccountStore(pool, schema, now),
    locks: new PostgresLockStore(pool, schema, now),
    replays: new PostgresReplayStore(pool, schema, now),
    audit: new PostgresAuditStore(pool, schema, options.auditEventsKept ?? AUDIT_EVENTS_KEPT),
    refusals: new PostgresRefusalStore(pool, schema),
    revocations: new PostgresRevocationStore(pool, schema, now),
    personalAccessTokens: new PostgresPersonalAccessTokenStore(pool, schema, now),
    signingKeys: new PostgresSigningKeyStore(pool, schema),
    vault: new PostgresVaultStore(pool, schema, now),
    postgres: { pool, schema: schemaName },
    close() {
      closed ??= pool.end();
      return closed;
    },
  };
}

/** Takes `schema` out of the URL's query: it is ours, not a libpq parameter. */
function splitSchema(url: string): { connectionString: string; schema: string | undefined } {
  const parsed = URL.parse(url);
  if (!parsed) throw new Error('DATABASE_URL is not a valid URL');
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.href, schema };
}

class PostgresModelStore implements ModelStore {
  readonly #pool: Pool;
  readonly #schema: string;
  readonly #table: string;
  readonly #now: () => number;
  /** The statements every token request runs, prepared once per connection. */
  readonly #upsert: Prepared;
  readonly #consume: Prepared;
  readonly #rotate: Prepared;
  readonly #findBy: Record<'id' | 'uid' | 'user_code', Prepared>;
  readonly #refreshContext: Prepared;

  constructor(pool: Pool, schema: string, now: () => number) {
    this.#pool = pool;
    this.#schema = schema;
    this.#table = `${schema}.models`;
    this.#now = now;
    this.#upsert = prepared(
      `INSERT INTO ${this.#table} (model, id, payload, grant_id, uid, user_code, expires_at, consumed)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (model, id) DO UPDATE SET
         payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid,
         user_code = excluded.user_code, expires_at = excluded.expires_at, consumed = excluded.consumed`,
    );
    this.#consume = prepared(
      `UPDATE ${this.#table} SET payload = jsonb_set(payload, '{consumed}', to_jsonb($3::bigint)), consumed = $3
       WHERE model = $1 AND id = $2 AND (expires_at IS NULL OR expires_at > $4)`,
    );
    // The UPDATE in WITH runs whether or not the INSERT reads it, in the same statement.
    this.#rotate = prepared(
      `WITH consumed AS (
         UPDATE ${this.#table} SET payload = jsonb_set(payload, '{consumed}', to_jsonb($9::bigint)), consumed = $9
         WHERE model = $1 AND id = $10 AND (expires_at IS NULL OR expires_at > $11))
       INSERT INTO ${this.#table} (model, id, payload, grant_id, uid, user_code, expires_at, consumed)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (model, id) DO UPDATE SET
         payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid,
         user_code = excluded.user_code, expires_at = excluded.expires_at, consumed = excluded.consumed`,
    );
    const findBy = (column: string) =>
      prepared(`SELECT payload FROM ${this.#table}
       WHERE model = $1 AND ${column} = $2 AND (expires_at IS NULL OR expires_at > $3) LIMIT 1`);
    this.#findBy = { id: findBy('id'), uid: findBy('uid'), user_code: findBy('user_code') };
    this.#refreshContext = prepared(
      `SELECT m.model, m.id, m.payload FROM ${this.#table} m
       WHERE (m.expires_at IS NULL OR m.expires_at > $3)
         AND ((m.model = 'RefreshToken' AND m.id = $1)
           OR (m.model = 'Client' AND m.id = $2)
           OR (m.model = 'Grant' AND m.id = (SELECT r.payload->>'grantId' FROM ${this.#table} r
                                             WHERE r.model = 'RefreshToken' AND r.id = $1
                                               AND (r.expires_at IS NULL OR r.expires_at > $3))))`,
    );
  }

  async findRefreshContext(refreshTokenId: string, clientId: string | undefined): Promise<Map<string, ModelPayload | undefined>> {
    const { rows } = await this.#pool.query<{ model: string; id: string; payload: ModelPayload }>({
      ...this.#refreshContext,
      values: [refreshTokenId, clientId ?? null, this.#now()],
    });
    const found = new Map<string, ModelPayload | undefined>();
    // What was asked for and is not there is known to be missing, so the provider's find needs no second look.
    found.set(modelKey('RefreshToken', refreshTokenId), undefined);
    if (clientId !== undefined) found.set(modelKey('Client', clientId), undefined);
    for (const row of rows) found.set(modelKey(row.model, row.id), row.payload);
    const grantId = found.get(modelKey('RefreshToken', refreshTokenId))?.grantId;
    if (typeof grantId === 'string' && !found.has(modelKey('Grant', grantId))) found.set(modelKey('Grant', grantId), undefined);
    return found;
  }

  async upsert(model: string, id: string, payload: ModelPayload, expiresIn: number | undefined): Promise<void> {
    await this.#pool.query({ ...this.#upsert, values: this.#upsertValues(model, id, payload, expiresIn, this.#now()) });
  }

  #upsertValues(model: string, id: string, payload: ModelPayload, expiresIn: number | undefined, now: number): unknown[] {
    return [
      model,
      id,
      JSON.stringify(payload),
      GRANTABLE_MODELS.has(model) ? text(payload.grantId) : null,
      text(payload.uid),
      text(payload.userCode),
      typeof expiresIn === 'number' ? now + (expiresIn + CLOCK_TOLERANCE_SECONDS) * 1000 : null,
      typeof payload.consumed === 'number' ? payload.consumed : null,
    ];
  }

  async find(model: string, id: string): Promise<ModelPayload | undefined> {
    return this.#one('id', model, id);
  }

  async findByUid(model: string, uid: string): Promise<ModelPayload | undefined> {
    return this.#one('uid', model, uid);
  }

  async findByUserCode(model: string, userCode: string): Promise<ModelPayload | undefined> {
    return this.#one('user_code', model, userCode);
  }

  async list(model: string): Promise<{ id: string; payload: ModelPayload }[]> {
    const { rows } = await this.#pool.query<{ id: string; payload: ModelPayload }>(
      `SELECT id, payload FROM ${this.#table}
       WHERE model = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY id COLLATE "C"`,
      [model, this.#now()],
    );
    return rows;
  }

  async consume(model: string, id: string): Promise<void> {
    const now = this.#now();
    const consumed = Math.floor(now / 1000);
    await this.#pool.query({ ...this.#consume, values: [model, id, consumed, now] });
  }

  async rotate(model: string, consumedId: string, id: string, payload: ModelPayload, expiresIn: number | undefined): Promise<void> {
    const now = this.#now();
    await this.#pool.query({
      ...this.#rotate,
      values: [...this.#upsertValues(model, id, payload, expiresIn, now), Math.floor(now / 1000), consumedId, now],
    });
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.#pool.query(`DELETE FROM ${this.#table} WHERE model = $1 AND id = $2`, [model, id]);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    // grant_id is only filled for GRANTABLE_MODELS (see upsert), exactly as in SQLite.
    await this.#pool.query(`DELETE FROM ${this.#table} WHERE grant_id = $1`, [grantId]);
  }

  async revokeByAccountId(accountId: string): Promise<number> {
    // No index on these: a full scan, for an admin action that happens rarely (see ModelStore).
    const { rowCount } = await this.#pool.query(
      `DELETE FROM ${this.#table} WHERE payload->>'accountId' = $1
         OR payload#>>'{session,accountId}' = $1 OR payload#>>'{result,login,accountId}' = $1`,
      [accountId],
    );
    return rowCount ?? 0;
  }

  async sweepExpired(): Promise<number> {
    let removed = 0;
    // Small batches, each its own statement: no long transaction, and SKIP LOCKED passes over rows
    // a request (or another instance's sweeper) holds instead of waiting for them.
    for (const table of ['models', 'token_locks', 'token_replays', 'revocations', 'personal_access_tokens']) {
      const t = `${this.#schema}.${table}`;
      for (;;) {
        const { rowCount } = await this.#pool.query(
          `DELETE FROM ${t} WHERE ctid = ANY(ARRAY(
             SELECT ctid FROM ${t} WHERE expires_at <= $1 LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED))`,
          [this.#now()],
        );
        removed += rowCount ?? 0;
        if ((rowCount ?? 0) < SWEEP_BATCH) break;
      }
    }
    return removed;
  }

  async #one(column: 'id' | 'uid' | 'user_code', model: string, value: string): Promise<ModelPayload | undefined> {
    const { rows } = await this.#pool.query<{ payload: ModelPayload }>({ ...this.#findBy[column], values: [model, value, this.#now()] });
    return rows[0]?.payload;
  }
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
