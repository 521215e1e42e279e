import type { DatabaseSync } from 'node:sqlite';
import { hashPassword, verifyPassword } from '../accounts/password.ts';
import { isValidUsername, newAccountRecord, validateNewAccount } from '../accounts/new-account.ts';
import { AccountExistsError, type Account, type AccountStore, type NewAccount, type UpstreamLink } from './store.ts';

interface AccountRow {
  id: string;
  username: string;
  password_hash: string;
  name: string | null;
  email: string | null;
  roles: string;
  created_at: number;
  disabled_at: number | null;
}

interface LinkRow {
  provider_id: string;
  subject: string;
  account_id: string;
  created_account: number;
  created_at: number;
}

const COLUMNS = 'id, username, password_hash, name, email, roles, created_at, disabled_at';
const LINK_COLUMNS = 'provider_id, subject, account_id, created_account, created_at';

/**
 * Accounts in the `accounts` table of the SQLite store. Usernames are kept as typed and are
 * unique and looked up case-insensitively (the column is COLLATE NOCASE).
 *
 * ```ts source="./sqlite-accounts.examples.ts#SqliteAccountStore"
 * const accounts = new SqliteAccountStore(db, Date.now);
 * await accounts.add({ username: 'alice', password: 'secret', roles: ['admin'] });
 * ```
 */
export class SqliteAccountStore implements AccountStore {
  readonly #now: () => number;
  readonly #insert;
  readonly #byId;
  readonly #byUsername;
  readonly #list;
  readonly #remove;
  readonly #count;
  readonly #setPassword;
  readonly #setDisabled;
  readonly #byEmail;
  readonly #updateProfile;
  readonly #findLink;
  readonly #addLink;
  readonly #listLinks;

  constructor(db: DatabaseSync, now: () => number) {
    this.#now = now;
    this.#byEmail = db.prepare(`SELECT ${COLUMNS} FROM accounts WHERE email = ? COLLATE NOCASE ORDER BY created_at`);
    this.#updateProfile = db.prepare(
      `UPDATE accounts SET name = :name, email = :email, roles = :roles WHERE id = :id RETURNING ${COLUMNS}`,
    );
    this.#findLink = db.prepare(`SELECT ${LINK_COLUMNS} FROM upstream_links WHERE provider_id = ? AND subject = ?`);
    this.#addLink = db.prepare(`
      INSERT INTO upstream_links (${LINK_COLUMNS}) VALUES (:providerId, :subject, :accountId, :createdAccount, :createdAt)
      ON CONFLICT (provider_id, subject) DO NOTHING`);
    this.#listLinks = db.prepare(`SELECT ${LINK_COLUMNS} FROM upstream_links ORDER BY account_id, provider_id`);
    this.#insert = db.prepare(`
      INSERT INTO accounts (${COLUMNS}) VALUES (:id, :username, :passwordHash, :name, :email, :roles, :createdAt, NULL)
      ON CONFLICT (username) DO NOTHING`);
    this.#byId = db.prepare(`SELECT ${COLUMNS} FROM accounts WHERE id = ?`);
    this.#byUsername = db.prepare(`SELECT ${COLUMNS} FROM accounts WHERE username = ?`);
    this.#list = db.prepare(`SELECT ${COLUMNS} FROM accounts ORDER BY username`);
    this.#remove = db.prepare('DELETE FROM accounts WHERE username = ?');
    this.#count = db.prepare('SELECT count(*) AS n FROM accounts');
    this.#setPassword = db.prepare(`UPDATE accounts SET password_hash = :passwordHash WHERE username = :username RETURNING ${COLUMNS}`);
    // coalesce keeps the first date when an account is disabled twice.
    this.#setDisabled = db.prepare(`
      UPDATE accounts SET disabled_at = CASE WHEN :disabled THEN coalesce(disabled_at, :now) END
      WHERE username = :username RETURNING ${COLUMNS}`);
  }

  async add(input: NewAccount): Promise<Account> {
    const { account, passwordHash } = await newAccountRecord(input, this.#now());
    const { changes } = this.#insert.run({
      id: account.id,
      username: account.username,
      passwordHash,
      name: account.name,
      email: account.email,
      roles: JSON.stringify(account.roles),
      createdAt: account.createdAt,
    });
    // Checked by the insert itself, not by a lookup before it, so two racing adds cannot both win.
    if (Number(changes) === 0) throw new AccountExistsError(account.username);
    return account;
  }

  async findById(id: string): Promise<Account | undefined> {
    return toAccount(this.#byId.get(id) as AccountRow | undefined);
  }

  async findByUsername(username: string): Promise<Account | undefined> {
    if (!isValidUsername(username)) return undefined;
    return toAccount(this.#byUsername.get(username) as AccountRow | undefined);
  }

  async authenticate(username: string, password: string): Promise<Account | undefined> {
    const row = isValidUsername(username) ? (this.#byUsername.get(username) as AccountRow | undefined) : undefined;
    // verifyPassword hashes against a dummy when row is undefined: same time for unknown users.
    const ok = await verifyPassword(password, row?.password_hash);
    return ok && row?.disabled_at === null ? toAccount(row) : undefined;
  }

  async setPassword(username: string, password: string): Promise<Account | undefined> {
    const passwordHash = await hashPassword(password);
    if (!isValidUsername(username)) return undefined;
    return toAccount(this.#setPassword.get({ username, passwordHash }) as AccountRow | undefined);
  }

  async setDisabled(username: string, disabled: boolean): Promise<Account | undefined> {
    if (!isValidUsername(username)) return undefined;
    return toAccount(this.#setDisabled.get({ username, disabled: disabled ? 1 : 0, now: this.#now() }) as AccountRow | undefined);
  }

  async list(): Promise<Account[]> {
    return (this.#list.all() as unknown as AccountRow[]).map((row) => toAccount(row)!);
  }

  async remove(username: string): Promise<boolean> {
    if (!isValidUsername(username)) return false;
    return Number(this.#remove.run(username).changes) > 0;
  }

  async count(): Promise<number> {
    return Number((this.#count.get() as { n: number }).n);
  }

  async findByEmail(email: string): Promise<Account[]> {
    return (this.#byEmail.all(email) as unknown as AccountRow[]).map((row) => toAccount(row)!);
  }

  async updateProfile(id: string, profile: { name: string | null; email: string | null; roles: string[] }): Promise<Account | undefined> {
    // The username is only a placeholder: the same checks as a new account's other fields.
    const fields = validateNewAccount({ username: 'x', password: '', ...profile });
    const row = this.#updateProfile.get({ id, name: fields.name, email: fields.email, roles: JSON.stringify(fields.roles) });
    return toAccount(row as AccountRow | undefined);
  }

  async findLink(providerId: string, subject: string): Promise<UpstreamLink | undefined> {
    return toLink(this.#findLink.get(providerId, subject) as LinkRow | undefined);
  }

  async addLink(link: Omit<UpstreamLink, 'createdAt'>): Promise<boolean> {
    const { changes } = this.#addLink.run({ ...link, createdAccount: link.createdAccount ? 1 : 0, createdAt: this.#now() });
    return Number(changes) > 0;
  }

  async listLinks(): Promise<UpstreamLink[]> {
    return (this.#listLinks.all() as unknown as LinkRow[]).map((row) => toLink(row)!);
  }
}

function toLink(row: LinkRow | undefined): UpstreamLink | undefined {
  if (!row) return undefined;
  return {
    providerId: row.provider_id,
    subject: row.subject,
    accountId: row.account_id,
    createdAccount: Boolean(row.created_account),
    createdAt: Number(row.created_at),
  };
}

function toAccount(row: AccountRow | undefined): Account | undefined {
  if (!row) return undefined;
  return {
    id: row.id,
    username: row.username,
    name: row.name,
    email: row.email,
    roles: JSON.parse(row.roles) as string[],
    createdAt: Number(row.created_at),
    disabledAt: row.disabled_at === null ? null : Number(row.disabled_at),
  };
}
