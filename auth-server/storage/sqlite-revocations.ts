import type { DatabaseSync } from 'node:sqlite';
import {
  PersonalAccessTokenExistsError,
  type PersonalAccessToken,
  type PersonalAccessTokenStore,
  type RevocationEntry,
  type RevocationStore,
  type RevocationType,
} from './store.ts';

interface EntryRow {
  type: RevocationType;
  id: string;
  revoked_at: number;
  expires_at: number;
}

/** The revocation feed in the SQLite store (table `revocations`). */
export class SqliteRevocationStore implements RevocationStore {
  readonly #now: () => number;
  readonly #add;
  readonly #since;

  constructor(db: DatabaseSync, now: () => number) {
    this.#now = now;
    // max(): a second revocation of the same thing never shortens the first one's reach.
    this.#add = db.prepare(`
      INSERT INTO revocations (type, id, revoked_at, recorded_at, expires_at) VALUES (:type, :id, :at, :now, :until)
      ON CONFLICT (type, id) DO UPDATE SET revoked_at = max(revoked_at, excluded.revoked_at),
        expires_at = max(expires_at, excluded.expires_at), recorded_at = excluded.recorded_at`);
    this.#since = db.prepare(`
      SELECT type, id, revoked_at, expires_at FROM revocations
      WHERE recorded_at >= :since AND expires_at > :now ORDER BY recorded_at, type, id`);
  }

  async add(entry: RevocationEntry): Promise<void> {
    this.#add.run({ type: entry.type, id: entry.id, at: entry.at, until: entry.until, now: this.#now() });
  }

  async recordedSince(recordedSince: number): Promise<RevocationEntry[]> {
    return (this.#since.all({ since: recordedSince, now: this.#now() }) as unknown as EntryRow[]).map((row) => ({
      type: row.type,
      id: row.id,
      at: Number(row.revoked_at),
      until: Number(row.expires_at),
    }));
  }
}

interface TokenRow {
  id: string;
  account_id: string;
  name: string;
  scope: string;
  resource: string;
  created_by: string;
  created_at: number;
  expires_at: number;
  last_used_at: number | null;
}

const TOKEN_COLUMNS = 'id, account_id, name, scope, resource, created_by, created_at, expires_at, last_used_at';

/** Personal access tokens in the SQLite store (table `personal_access_tokens`). */
export class SqlitePersonalAccessTokenStore implements PersonalAccessTokenStore {
  readonly #now: () => number;
  readonly #add;
  readonly #byHash;
  readonly #listAll;
  readonly #listOne;
  readonly #remove;
  readonly #touch;

  constructor(db: DatabaseSync, now: () => number) {
    this.#now = now;
    // An expired token of the same name is replaced: names are unique among live tokens only.
    this.#add = db.prepare(`
      INSERT INTO personal_access_tokens (${TOKEN_COLUMNS}, token_hash)
      VALUES (:id, :accountId, :name, :scope, :resource, :createdBy, :createdAt, :expiresAt, NULL, :hash)
      ON CONFLICT (account_id, name) DO UPDATE SET id = excluded.id, scope = excluded.scope, resource = excluded.resource,
        created_by = excluded.created_by, created_at = excluded.created_at, expires_at = excluded.expires_at,
        last_used_at = NULL, token_hash = excluded.token_hash
      WHERE personal_access_tokens.expires_at <= :now`);
    this.#byHash = db.prepare(`SELECT ${TOKEN_COLUMNS} FROM personal_access_tokens WHERE token_hash = :hash AND expires_at > :now`);
    this.#listAll = db.prepare(`SELECT ${TOKEN_COLUMNS} FROM personal_access_tokens WHERE expires_at > :now ORDER BY account_id, name`);
    this.#listOne = db.prepare(
      `SELECT ${TOKEN_COLUMNS} FROM personal_access_tokens WHERE account_id = :accountId AND expires_at > :now ORDER BY name`,
    );
    this.#remove = db.prepare(
      `DELETE FROM personal_access_tokens WHERE account_id = :accountId AND name = :name AND expires_at > :now RETURNING ${TOKEN_COLUMNS}`,
    );
    this.#touch = db.prepare(`
      UPDATE personal_access_tokens SET last_used_at = :now
      WHERE id = :id AND (last_used_at IS NULL OR last_used_at <= :now - :minIntervalMs)`);
  }

  async add(token: PersonalAccessToken, hash: string): Promise<void> {
    const { changes } = this.#add.run({
      id: token.id,
      accountId: token.accountId,
      name: token.name,
      scope: token.scope,
      resource: token.resource,
      createdBy: token.createdBy,
      createdAt: token.createdAt,
      expiresAt: token.expiresAt,
      hash,
      now: this.#now(),
    });
    if (Number(changes) === 0) throw new PersonalAccessTokenExistsError(token.name);
  }

  async findByHash(hash: string): Promise<PersonalAccessToken | undefined> {
    return toToken(this.#byHash.get({ hash, now: this.#now() }) as TokenRow | undefined);
  }

  async list(accountId?: string): Promise<PersonalAccessToken[]> {
    const rows = accountId === undefined ? this.#listAll.all({ now: this.#now() }) : this.#listOne.all({ accountId, now: this.#now() });
    return (rows as unknown as TokenRow[]).map((row) => toToken(row)!);
  }

  async remove(accountId: string, name: string): Promise<PersonalAccessToken | undefined> {
    return toToken(this.#remove.get({ accountId, name, now: this.#now() }) as TokenRow | undefined);
  }

  async touch(id: string, minIntervalMs: number): Promise<void> {
    this.#touch.run({ id, now: this.#now(), minIntervalMs });
  }
}

/** One row of either store's table as a PersonalAccessToken (PostgreSQL returns bigints as strings). */
export function toToken(row: Record<keyof TokenRow, unknown> | undefined): PersonalAccessToken | undefined {
  if (!row) return undefined;
  return {
    id: String(row.id),
    accountId: String(row.account_id),
    name: String(row.name),
    scope: String(row.scope),
    resource: String(row.resource),
    createdBy: String(row.created_by),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}
