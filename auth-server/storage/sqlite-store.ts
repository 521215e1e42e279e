import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { attachEphemeral, EPHEMERAL } from './sqlite-ephemeral.ts';
import { migrate } from './sqlite-schema.ts';
import { SqliteAccountStore } from './sqlite-accounts.ts';
import { SqliteAuditStore } from './sqlite-audit.ts';
import { SqliteRefusalStore } from './sqlite-refusals.ts';
import { SqlitePersonalAccessTokenStore, SqliteRevocationStore } from './sqlite-revocations.ts';
import { SqliteSigningKeyStore } from './sqlite-signing-keys.ts';
import { SqliteLockStore, SqliteReplayStore } from './sqlite-token-requests.ts';
import { SqliteVaultStore } from './sqlite-vault.ts';
import { AUDIT_EVENTS_KEPT, CLOCK_TOLERANCE_SECONDS, GRANTABLE_MODELS, type ModelPayload, type ModelStore, type Storage } from './store.ts';
import { sqliteTransaction } from './sqlite-transaction.ts';

export interface SqliteStorageOptions {
  /** The clock, in epoch milliseconds. Tests inject one to move time without waiting. */
  now?: () => number;
  /**
   * `NORMAL` (default) fsyncs the WAL only at checkpoints: an acknowledged write survives a
   * process crash (kill -9: the WAL is already in the OS page cache), but the last commits can
   * vanish if the machine loses power. `FULL` fsyncs at every commit and survives that too, at a
   * price: node:sqlite is synchronous, so each fsync (~2 ms here) stalls the event loop, and a
   * refresh makes two commits — FULL caps a process at a few hundred refreshes per second.
   * (AUTH_SQLITE_SYNCHRONOUS; production deployments that need power-loss safety at scale use
   * PostgreSQL.)
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** How long a connection waits for another process's write lock before failing (ms). */
  busyTimeoutMs?: number;
  /** How many audit events to keep (default AUDIT_EVENTS_KEPT); tests make it small. */
  auditEventsKept?: number;
}

const SWEEP_BATCH = 500;

/**
 * Opens (creating if needed) the embedded store at `${dataDir}/auth.db`. Several processes may
 * open the same file: SQLite's WAL mode lets readers proceed while one writer commits, and the
 * busy timeout queues writers instead of failing them.
 *
 * ```ts source="./sqlite-store.examples.ts#openSqliteStorage"
 * const storage = openSqliteStorage('./data');
 * await storage.accounts.add({ username: 'alice', password: 'secret' });
 * await storage.close();
 * ```
 */
export function openSqliteStorage(dataDir: string, options: SqliteStorageOptions = {}): Storage {
  const now = options.now ?? Date.now;
  // The file holds password hashes and refresh tokens: owner-only, directory and file.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'auth.db');
  closeSync(openSync(file, 'a', 0o600)); // SQLite gives its -wal/-shm files the same mode as this one.

  const db = new DatabaseSync(file);
  try {
    // busy_timeout first: the statements below may already meet another process's lock.
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5_000))}`);
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(`PRAGMA synchronous = ${options.synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`);
    db.exec('PRAGMA foreign_keys = ON');
    migrate(db);
    attachEphemeral(db, dataDir);
  } catch (error) {
    db.close();
    throw error;
  }

  const models = new SqliteModelStore(db, now);
  const accounts = new SqliteAccountStore(db, now);
  return {
    models,
    accounts,
    locks: new SqliteLockStore(db, now),
    replays: new SqliteReplayStore(db, now),
    audit: new SqliteAuditStore(db, options.auditEventsKept ?? AUDIT_EVENTS_KEPT),
    refusals: new SqliteRefusalStore(db),
    revocations: new SqliteRevocationStore(db, now),
    personalAccessTokens: new SqlitePersonalAccessTokenStore(db, now),
    signingKeys: new SqliteSigningKeyStore(db),
    vault: new SqliteVaultStore(db, now),
    async close() {
      if (db.isOpen) db.close();
    },
  };
}

interface ModelRow {
  payload: string;
}

class SqliteModelStore implements ModelStore {
  readonly #now: () => number;
  readonly #db: DatabaseSync;
  // Prepared once: preparing costs more than running these statements.
  readonly #upsert;
  readonly #find;
  readonly #findByUid;
  readonly #findByUserCode;
  readonly #list;
  readonly #consume;
  readonly #destroy;
  readonly #revoke;
  readonly #revokeAccount;
  readonly #sweeps;
  readonly #inTransaction;

  constructor(db: DatabaseSync, now: () => number) {
    this.#db = db;
    this.#now = now;
    this.#inTransaction = sqliteTransaction(db);
    const live = '(expires_at IS NULL OR expires_at > :now)';
    this.#upsert = db.prepare(`
      INSERT INTO models (model, id, payload, grant_id, uid, user_code, expires_at, consumed)
      VALUES (:model, :id, :payload, :grantId, :uid, :userCode, :expiresAt, :consumed)
      ON CONFLICT (model, id) DO UPDATE SET
        payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid,
        user_code = excluded.user_code, expires_at = excluded.expires_at, consumed = excluded.consumed`);
    this.#find = db.prepare(`SELECT payload FROM models WHERE model = :model AND id = :id AND ${live}`);
    this.#findByUid = db.prepare(`SELECT payload FROM models WHERE model = :model AND uid = :uid AND ${live} LIMIT 1`);
    this.#findByUserCode = db.prepare(`SELECT payload FROM models WHERE model = :model AND user_code = :userCode AND ${live} LIMIT 1`);
    this.#list = db.prepare(`SELECT id, payload FROM models WHERE model = :model AND ${live} ORDER BY id`);
    this.#consume = db.prepare(`
      UPDATE models SET payload = json_set(payload, '$.consumed', :consumed), consumed = :consumed
      WHERE model = :model AND id = :id AND ${live}`);
    this.#destroy = db.prepare('DELETE FROM models WHERE model = :model AND id = :id');
    this.#revoke = db.prepare('DELETE FROM models WHERE grant_id = :grantId');
    // No index on these: a full scan, for an admin action that happens rarely (see ModelStore).
    this.#revokeAccount = db.prepare(`
      DELETE FROM models WHERE json_extract(payload, '$.accountId') = :accountId
        OR json_extract(payload, '$.session.accountId') = :accountId
        OR json_extract(payload, '$.result.login.accountId') = :accountId`);
    // Token-request leases and replays, revocation entries and personal access tokens expire
    // too; the same sweeper clears them.
    const tables = ['models', `${EPHEMERAL}.token_locks`, `${EPHEMERAL}.token_replays`, 'revocations', 'personal_access_tokens'];
    this.#sweeps = tables.map((table) =>
      db.prepare(`
        DELETE FROM ${table} WHERE rowid IN (
          SELECT rowid FROM ${table} WHERE expires_at IS NOT NULL AND expires_at <= :now LIMIT ${SWEEP_BATCH})`),
    );
  }

  async upsert(model: string, id: string, payload: ModelPayload, expiresIn: number | undefined): Promise<void> {
    this.#upsertNow(model, id, payload, expiresIn);
  }

  #upsertNow(model: string, id: string, payload: ModelPayload, expiresIn: number | undefined): void {
    const expiresAt = typeof expiresIn === 'number' ? this.#now() + (expiresIn + CLOCK_TOLERANCE_SECONDS) * 1000 : null;
    this.#upsert.run({
      model,
      id,
      payload: JSON.stringify(payload),
      grantId: GRANTABLE_MODELS.has(model) ? text(payload.grantId) : null,
      uid: text(payload.uid),
      userCode: text(payload.userCode),
      expiresAt,
      consumed: typeof payload.consumed === 'number' ? payload.consumed : null,
    });
  }

  async find(model: string, id: string): Promise<ModelPayload | undefined> {
    return parse(this.#find.get({ model, id, now: this.#now() }));
  }

  async findByUid(model: string, uid: string): Promise<ModelPayload | undefined> {
    return parse(this.#findByUid.get({ model, uid, now: this.#now() }));
  }

  async findByUserCode(model: string, userCode: string): Promise<ModelPayload | undefined> {
    return parse(this.#findByUserCode.get({ model, userCode, now: this.#now() }));
  }

  async list(model: string): Promise<{ id: string; payload: ModelPayload }[]> {
    return (this.#list.all({ model, now: this.#now() }) as { id: string; payload: string }[]).map((row) => ({
      id: row.id,
      payload: JSON.parse(row.payload) as ModelPayload,
    }));
  }

  async consume(model: string, id: string): Promise<void> {
    this.#consumeNow(model, id);
  }

  #consumeNow(model: string, id: string): void {
    const now = this.#now();
    this.#consume.run({ model, id, now, consumed: Math.floor(now / 1000) });
  }

  async rotate(model: string, consumedId: string, id: string, payload: ModelPayload, expiresIn: number | undefined): Promise<void> {
    // One commit for both (a WAL write and its file locks, not two).
    this.#inTransaction(() => {
      this.#consumeNow(model, consumedId);
      this.#upsertNow(model, id, payload, expiresIn);
    });
  }

  async destroy(model: string, id: string): Promise<void> {
    this.#destroy.run({ model, id });
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    this.#revoke.run({ grantId });
  }

  async revokeByAccountId(accountId: string): Promise<number> {
    return Number(this.#revokeAccount.run({ accountId }).changes);
  }

  async sweepExpired(): Promise<number> {
    let removed = 0;
    // Each batch is its own short transaction, so requests (and other processes) get the
    // write lock between batches; yielding lets this process's own requests run too.
    for (const sweep of this.#sweeps) {
      while (this.#db.isOpen) {
        const changes = Number(sweep.run({ now: this.#now() }).changes);
        removed += changes;
        if (changes < SWEEP_BATCH) break;
        await yieldToEventLoop();
      }
    }
    return removed;
  }
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function parse(row: unknown): ModelPayload | undefined {
  return row === undefined ? undefined : (JSON.parse((row as ModelRow).payload) as ModelPayload);
}
