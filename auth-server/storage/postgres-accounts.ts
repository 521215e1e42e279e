import type { Pool } from 'pg';
import { prepared, type Prepared } from './postgres-prepared.ts';
import { hashPassword, verifyPassword } from '../accounts/password.ts';
import { isValidUsername, newAccountRecord, validateNewAccount } from '../accounts/new-account.ts';
import { AccountExistsError, type Account, type AccountStore, type NewAccount, type UpstreamLink } from './store.ts';

interface AccountRow {
  id: string;
  username: string;
  password_hash: string;
  name: string | null;
  email: string | null;
  roles: string[];
  created_at: string;
  disabled_at: string | null;
}

interface LinkRow {
  provider_id: string;
  subject: string;
  account_id: string;
  created_account: boolean;
  created_at: string;
}

const COLUMNS = 'id, username, password_hash, name, email, roles, created_at, disabled_at';
const LINK_COLUMNS = 'provider_id, subject, account_id, created_account, created_at';

/**
 * Accounts in the `accounts` table of a PostgreSQL schema (already quoted). Same rules as the
 * SQLite store: usernames kept as typed, unique and looked up case-insensitively (a unique
 * index on lower(username)).
 *
 * ```ts source="./postgres-accounts.examples.ts#PostgresAccountStore"
 * const accounts = new PostgresAccountStore(pool, '"public"', Date.now);
 * await accounts.add({ username: 'alice', password: 'secret', roles: ['admin'] });
 * ```
 */
export class PostgresAccountStore implements AccountStore {
  readonly #pool: Pool;
  readonly #table: string;
  readonly #links: string;
  readonly #now: () => number;
  /** Every refresh reads its account: prepared once per connection. */
  readonly #findById: Prepared;

  constructor(pool: Pool, schema: string, now: () => number) {
    this.#pool = pool;
    this.#table = `${schema}.accounts`;
    this.#findById = prepared(`SELECT ${COLUMNS} FROM ${this.#table} WHERE id = $1`);
    this.#links = `${schema}.upstream_links`;
    this.#now = now;
  }

  async add(input: NewAccount): Promise<Account> {
    const { account, passwordHash } = await newAccountRecord(input, this.#now());
    const { rowCount } = await this.#pool.query(
      `INSERT INTO ${this.#table} (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL) ON CONFLICT DO NOTHING`,
      [account.id, account.username, passwordHash, account.name, account.email, JSON.stringify(account.roles), account.createdAt],
    );
    // Checked by the insert itself, not by a lookup before it, so two racing adds cannot both win.
    if (rowCount === 0) throw new AccountExistsError(account.username);
    return account;
  }

  async findById(id: string): Promise<Account | undefined> {
    const { rows } = await this.#pool.query<AccountRow>({ ...this.#findById, values: [id] });
    return toAccount(rows[0]);
  }

  async findByUsername(username: string): Promise<Account | undefined> {
    return toAccount(await this.#byUsername(username));
  }

  async authenticate(username: string, password: string): Promise<Account | undefined> {
    const row = await this.#byUsername(username);
    // verifyPassword hashes against a dummy when row is undefined: same time for unknown users.
    const ok = await verifyPassword(password, row?.password_hash);
    return ok && row?.disabled_at === null ? toAccount(row) : undefined;
  }

  async setPassword(username: string, password: string): Promise<Account | undefined> {
    const passwordHash = await hashPassword(password);
    if (!isValidUsername(username)) return undefined;
    const { rows } = await this.#pool.query<AccountRow>(
      `UPDATE ${this.#table} SET password_hash = $2 WHERE lower(username) = lower($1) RETURNING ${COLUMNS}`,
      [username, passwordHash],
    );
    return toAccount(rows[0]);
  }

  async setDisabled(username: string, disabled: boolean): Promise<Account | undefined> {
    if (!isValidUsername(username)) return undefined;
    // coalesce keeps the first date when an account is disabled twice.
    const { rows } = await this.#pool.query<AccountRow>(
      `UPDATE ${this.#table} SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, $3) END
       WHERE lower(username) = lower($1) RETURNING ${COLUMNS}`,
      [username, disabled, this.#now()],
    );
    return toAccount(rows[0]);
  }

  async list(): Promise<Account[]> {
    const { rows } = await this.#pool.query<AccountRow>(`SELECT ${COLUMNS} FROM ${this.#table} ORDER BY lower(username)`);
    return rows.map((row) => toAccount(row)!);
  }

  async remove(username: string): Promise<boolean> {
    if (!isValidUsername(username)) return false;
    const { rowCount } = await this.#pool.query(`DELETE FROM ${this.#table} WHERE lower(username) = lower($1)`, [username]);
    return (rowCount ?? 0) > 0;
  }

  async count(): Promise<number> {
    const { rows } = await this.#pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.#table}`);
    return Number(rows[0]?.n ?? 0);
  }

  async findByEmail(email: string): Promise<Account[]> {
    const { rows } = await this.#pool.query<AccountRow>(
      `SELECT ${COLUMNS} FROM ${this.#table} WHERE lower(email) = lower($1) ORDER BY created_at`,
      [email],
    );
    return rows.map((row) => toAccount(row)!);
  }

  async updateProfile(id: string, profile: { name: string | null; email: string | null; roles: string[] }): Promise<Account | undefined> {
    // The username is only a placeholder: the same checks as a new account's other fields.
    const fields = validateNewAccount({ username: 'x', password: '', ...profile });
    const { rows } = await this.#pool.query<AccountRow>(
      `UPDATE ${this.#table} SET name = $2, email = $3, roles = $4 WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, fields.name, fields.email, JSON.stringify(fields.roles)],
    );
    return toAccount(rows[0]);
  }

  async findLink(providerId: string, subject: string): Promise<UpstreamLink | undefined> {
    const { rows } = await this.#pool.query<LinkRow>(`SELECT ${LINK_COLUMNS} FROM ${this.#links} WHERE provider_id = $1 AND subject = $2`, [
      providerId,
      subject,
    ]);
    return toLink(rows[0]);
  }

  async addLink(link: Omit<UpstreamLink, 'createdAt'>): Promise<boolean> {
    const { rowCount } = await this.#pool.query(
      `INSERT INTO ${this.#links} (${LINK_COLUMNS}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [link.providerId, link.subject, link.accountId, link.createdAccount, this.#now()],
    );
    return (rowCount ?? 0) > 0;
  }

  async listLinks(): Promise<UpstreamLink[]> {
    const { rows } = await this.#pool.query<LinkRow>(`SELECT ${LINK_COLUMNS} FROM ${this.#links} ORDER BY account_id, provider_id`);
    return rows.map((row) => toLink(row)!);
  }

  async #byUsername(username: string): Promise<AccountRow | undefined> {
    if (!isValidUsername(username)) return undefined;
    const { rows } = await this.#pool.query<AccountRow>(`SELECT ${COLUMNS} FROM ${this.#table} WHERE lower(username) = lower($1)`, [
      username,
    ]);
    return rows[0];
  }
}

function toAccount(row: AccountRow | undefined): Account | undefined {
  if (!row) return undefined;
  return {
    id: row.id,
    username: row.username,
    name: row.name,
    email: row.email,
    roles: row.roles,
    createdAt: Number(row.created_at),
    disabledAt: row.disabled_at === null ? null : Number(row.disabled_at),
  };
}

function toLink(row: LinkRow | undefined): UpstreamLink | undefined {
  if (!row) return undefined;
  return {
    providerId: row.provider_id,
    subject: row.subject,
    accountId: row.account_id,
    createdAccount: row.created_account,
    createdAt: Number(row.created_at),
  };
}
