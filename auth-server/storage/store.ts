/**
 * The storage interface of the auth server. Two implementations: SQLite (embedded default,
 * `sqlite-store.ts`) and PostgreSQL (`postgres-store.ts`, selected by DATABASE_URL).
 * oidc-provider reaches it through `adapter.ts`; the CLI and the login page through `accounts`.
 */
import type { SigningKeyRowStore } from './signing-key-rows.ts';

/** What oidc-provider hands its adapter: an arbitrary JSON object with a few well-known keys. */
export interface ModelPayload {
  [key: string]: unknown;
  grantId?: string;
  uid?: string;
  userCode?: string;
  consumed?: number;
}

/** oidc-provider models, persisted as rows keyed by (model, id). */
/** The key of one model row in a map of prefetched rows. */
export function modelKey(model: string, id: string): string {
  return `${model}\u0000${id}`;
}

export interface ModelStore {
  /** Inserts or replaces. `expiresIn` is seconds from now; rows are kept that long plus tolerance. */
  upsert(model: string, id: string, payload: ModelPayload, expiresIn: number | undefined): Promise<void>;
  /** The payload, or undefined when missing or expired. */
  find(model: string, id: string): Promise<ModelPayload | undefined>;
  /** Session lookup by its `uid`. */
  findByUid(model: string, uid: string): Promise<ModelPayload | undefined>;
  /** DeviceCode lookup by its `userCode`. */
  findByUserCode(model: string, userCode: string): Promise<ModelPayload | undefined>;
  /**
   * Optional: the rows a refresh_token grant reads — the RefreshToken `refreshTokenId`, the
   * Client `clientId` (when the form names it) and the Grant that refresh token names — in one
   * round trip, keyed by `modelKey(model, id)`; a missing or expired row is there as undefined.
   * Left out by a store whose finds cost no round trip (SQLite).
   */
  findRefreshContext?(refreshTokenId: string, clientId: string | undefined): Promise<Map<string, ModelPayload | undefined>>;
  /** Every live row of `model`, by id (for operator tools: `npm run clients -- list`). */
  list(model: string): Promise<{ id: string; payload: ModelPayload }[]>;
  /** Marks the row consumed (sets payload.consumed to the current epoch seconds). */
  consume(model: string, id: string): Promise<void>;
  /**
   * Optional: consume(model, consumedId) and upsert(model, id, payload, expiresIn) as one write
   * (one statement, or one transaction), both or neither: a refresh rotation's old and new
   * RefreshToken (storage/adapter.ts withRefreshContext).
   */
  rotate?(model: string, consumedId: string, id: string, payload: ModelPayload, expiresIn: number | undefined): Promise<void>;
  destroy(model: string, id: string): Promise<void>;
  /** Removes every token of every model that belongs to the grant. */
  revokeByGrantId(grantId: string): Promise<void>;
  /**
   * Signs an account out everywhere: removes its sessions, grants, the tokens stored for them and
   * interactions it is part of (rows whose payload names it as `accountId`, `session.accountId`
   * or `result.login.accountId`). Returns how many rows went. Scans every row: meant for the rare
   * admin action (password change, disabling), not for request paths.
   */
  revokeByAccountId(accountId: string): Promise<number>;
  /** Deletes expired rows (models, locks, replays, revocation entries, personal access tokens) in small batches; returns how many were removed. */
  sweepExpired(): Promise<number>;
}

export interface Account {
  /** Stable subject identifier (random, never the username, so a username can change). */
  id: string;
  username: string;
  name: string | null;
  email: string | null;
  roles: string[];
  createdAt: number;
  /** When the account was disabled (epoch ms); null while it is active. A disabled account cannot sign in. */
  disabledAt: number | null;
}

export interface NewAccount {
  username: string;
  password: string;
  name?: string | null;
  email?: string | null;
  roles?: string[];
}

export interface AccountStore {
  /** Creates an account; throws AccountExistsError when the username is taken. */
  add(account: NewAccount): Promise<Account>;
  findById(id: string): Promise<Account | undefined>;
  findByUsername(username: string): Promise<Account | undefined>;
  /**
   * The account when the password is right and the account is not disabled; undefined otherwise
   * (constant-ish time either way, so neither unknown nor disabled accounts show by timing).
   */
  authenticate(username: string, password: string): Promise<Account | undefined>;
  /**
   * Replaces the password (hashPassword's bounds only: the policy is the caller's, see
   * accounts/password-policy.ts). The account, or undefined when there is none by that name.
   */
  setPassword(username: string, password: string): Promise<Account | undefined>;
  /**
   * Disables (keeping the first disabledAt when already disabled) or enables an account. The
   * account as it is now, or undefined when there is none by that name.
   */
  setDisabled(username: string, disabled: boolean): Promise<Account | undefined>;
  list(): Promise<Account[]>;
  /** Returns whether an account was removed (its upstream links go with it). */
  remove(username: string): Promise<boolean>;
  count(): Promise<number>;
  /** Accounts whose email is this address, compared case-insensitively. */
  findByEmail(email: string): Promise<Account[]>;
  /**
   * Replaces name, email and roles (checked as for a new account; throws InvalidAccountError).
   * The account as it is now, or undefined when there is no account with that id.
   */
  updateProfile(id: string, profile: { name: string | null; email: string | null; roles: string[] }): Promise<Account | undefined>;
  /** The link of an upstream identity (provider id, upstream `sub`), or undefined when it has none. */
  findLink(providerId: string, subject: string): Promise<UpstreamLink | undefined>;
  /**
   * Links an upstream identity to an account. False when that identity is linked already (a
   * parallel first sign-in won): checked by the insert itself, so two racing links cannot both win.
   */
  addLink(link: Omit<UpstreamLink, 'createdAt'>): Promise<boolean>;
  /** Every link, by account id then provider (for `npm run users -- list`). */
  listLinks(): Promise<UpstreamLink[]>;
}

/** An upstream identity (provider id + its stable subject) tied to one of our accounts. */
export interface UpstreamLink {
  providerId: string;
  subject: string;
  accountId: string;
  /** True when the account was created by this link (just in time); false when an existing account was linked by email. */
  createdAccount: boolean;
  createdAt: number;
}

export class AccountExistsError extends Error {
  constructor(username: string) {
    super(`an account named "${username}" already exists`);
    this.name = 'AccountExistsError';
  }
}

/**
 * Short leases that serialize requests for one token across every auth-server instance sharing
 * the store (see provider/token-request-lock.ts). A lease that is never released (its holder
 * crashed) frees itself when it expires.
 */
export interface LockStore {
  /** Takes `key` for `ttlMs` when it is free or its lease has expired; returns whether it did. */
  acquire(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /**
   * Gives `key` back, but only if `owner` still holds it (an expired lease may have moved on).
   * With `replay`, also stores that replay under `key` (as ReplayStore.put) in the same write, so
   * the next holder of the lease sees it and a refresh costs one round trip less.
   */
  release(key: string, owner: string, replay?: { entry: ReplayEntry; ttlMs: number }): Promise<void>;
}

/** A token response kept for the refresh grace window. */
export interface ReplayEntry {
  /** A hash of what identifies the request's client and its parameters; a replay needs a match. */
  fingerprint: string;
  /** The response body exactly as it was sent. */
  body: string;
}

/** Token responses kept for a short time so a duplicate request can get the same answer. */
export interface ReplayStore {
  /** Stores (or replaces) the entry under `key` for `ttlMs`. */
  put(key: string, entry: ReplayEntry, ttlMs: number): Promise<void>;
  /** The entry, or undefined when missing or expired. */
  get(key: string): Promise<ReplayEntry | undefined>;
}

/** What a revocation feed entry revokes: one grant's tokens, or every token of an account, client or personal access token. */
export type RevocationType = 'grant' | 'account' | 'client' | 'pat';

/** One entry of the revocation feed resource servers pull (revocation/revocations.ts). */
export interface RevocationEntry {
  type: RevocationType;
  /** The grant id, account id (`sub`), client id or personal access token id. */
  id: string;
  /** When it was revoked (epoch ms). For accounts and clients, tokens issued after it are not affected (re-enabled). */
  at: number;
  /** Epoch ms after which no token it affects can still be valid: the entry is kept until then, then swept. */
  until: number;
}

/** The revocation feed, shared by every auth-server instance. */
export interface RevocationStore {
  /**
   * Records an entry. Recording one that exists (same type and id) keeps the later `at` and
   * `until`, and makes it new again for incremental readers.
   */
  add(entry: RevocationEntry): Promise<void>;
  /**
   * Entries still live (`until` after now) recorded at or after `recordedSince` (epoch ms), in
   * the order they were recorded; 0 reads them all.
   */
  recordedSince(recordedSince: number): Promise<RevocationEntry[]>;
}

/** A personal access token as stored: never the token itself, only its SHA-256. */
export interface PersonalAccessToken {
  /** Random id: the feed names revoked tokens by it, and the resource server's client id is `pat:<id>`. */
  id: string;
  accountId: string;
  /** Unique per account among its live tokens. */
  name: string;
  /** Space-separated scopes. */
  scope: string;
  /** The one resource (audience) it is valid for. */
  resource: string;
  /** Who created it: `cli`, the account itself (`self`), or an admin's account id. */
  createdBy: string;
  createdAt: number;
  expiresAt: number;
  /** Last time a resource server introspected it (epoch ms, written at most once a minute). */
  lastUsedAt: number | null;
}

export interface PersonalAccessTokenStore {
  /** Stores a new token under its hash; throws PersonalAccessTokenExistsError when the account has one by that name. */
  add(token: PersonalAccessToken, hash: string): Promise<void>;
  /** The live (unexpired) token with this hash, or undefined. */
  findByHash(hash: string): Promise<PersonalAccessToken | undefined>;
  /** Live tokens of one account, or of every account, by account then name. */
  list(accountId?: string): Promise<PersonalAccessToken[]>;
  /** Deletes the account's token by that name and returns it, or undefined when it has none. */
  remove(accountId: string, name: string): Promise<PersonalAccessToken | undefined>;
  /** Sets lastUsedAt to now unless it was set less than `minIntervalMs` ago (one write per interval). */
  touch(id: string, minIntervalMs: number): Promise<void>;
}

export class PersonalAccessTokenExistsError extends Error {
  constructor(name: string) {
    super(`a personal access token named "${name}" already exists for this account`);
    this.name = 'PersonalAccessTokenExistsError';
  }
}

/** One sealed value of the token vault and the version that wrote it. */
export interface VaultRow {
  /** What upstream/token-vault.ts sealed (encrypted, bound to the account and upstream); opaque here. */
  sealed: string;
  /** Starts at 1 and grows with every write: `replace` writes only over the version it read. */
  version: number;
  /** Epoch ms of the last write. */
  updatedAt: number;
}

/**
 * The token vault's rows: one sealed value per (account, upstream id). Removing the account
 * removes its rows. Storage never sees a token in clear: sealing is the vault's job.
 */
export interface VaultStore {
  get(accountId: string, upstreamId: string): Promise<VaultRow | undefined>;
  /** Inserts, or replaces whatever is there (a new sign-in brings new tokens). */
  put(accountId: string, upstreamId: string, sealed: string): Promise<void>;
  /**
   * Replaces the value only while it is still at `version` (no other refresh landed since it was
   * read); returns whether it did.
   */
  replace(accountId: string, upstreamId: string, version: number, sealed: string): Promise<boolean>;
  /** Returns whether a row was removed. */
  remove(accountId: string, upstreamId: string): Promise<boolean>;
}

export interface Storage {
  models: ModelStore;
  accounts: AccountStore;
  locks: LockStore;
  replays: ReplayStore;
  /** The most recent audit events, for the admin console (admin/audit-trail.ts writes them). */
  audit: AuditStore;
  /** Token refusals the resource servers reported, per hour (revocation/feed-routes.ts records them). */
  refusals: RefusalStore;
  revocations: RevocationStore;
  personalAccessTokens: PersonalAccessTokenStore;
  /** The signing keys when AUTH_KEY_STORE=database (sealed; keys/signing-key-store.ts opens them). */
  signingKeys: SigningKeyRowStore;
  vault: VaultStore;
  /**
   * The PostgreSQL pool and schema when this store is PostgreSQL, for the few components that
   * keep their own shared state there (rate limits); undefined for SQLite.
   */
  postgres?: { pool: unknown; schema: string };
  /** Flushes and closes; the store is unusable afterwards. */
  close(): Promise<void>;
}

/** One audit line as the admin console keeps it (the full line also goes to the log). */
export interface AuditEntry {
  /** Epoch milliseconds. */
  at: number;
  /** `login.failed`, `grant.success`, `admin.user.disabled`, … */
  event: string;
  level: 'info' | 'warn' | 'error';
  /** The subject (`sub`) the event is about, when it has one. */
  accountId: string | null;
  username: string | null;
  clientId: string | null;
  /** The admin who acted, for `admin.*` events. */
  adminId: string | null;
  /** For token events: the grant type, which the dashboard counts by. */
  grantType: string | null;
  ip: string | null;
  message: string;
  /** The line's other fields as JSON (bounded). */
  detail: string;
}

export interface AuditRecord extends AuditEntry {
  id: number;
}

export interface AuditFilter {
  accountId?: string;
  clientId?: string;
  /** An event name (`login.failed`), or a family (`login` matches `login.*`). */
  event?: string;
  /** At most this many, newest first. */
  limit: number;
}

/** Events per hour, for the dashboard. */
export interface AuditHourCount {
  /** Start of the hour, epoch ms. */
  hour: number;
  event: string;
  grantType: string | null;
  count: number;
}

/**
 * A bounded table of the most recent audit events: only the newest AUDIT_EVENTS_KEPT survive an
 * append, so it never needs a sweeper and never grows with traffic. The log keeps everything.
 */
export interface AuditStore {
  /** Appends the entries (one batch, one statement), then drops what is beyond the bound. */
  append(entries: readonly AuditEntry[]): Promise<void>;
  recent(filter: AuditFilter): Promise<AuditRecord[]>;
  /** Counts of the given events since `since` (epoch ms), per hour and grant type. */
  hourly(since: number, events: readonly string[]): Promise<AuditHourCount[]>;
  /** When each client last got a token (the newest `grant.success` kept), by client id. */
  lastTokens(): Promise<Map<string, number>>;
}

/** Refusals one resource server reported for one hour and kind (common/refusal-report.ts). */
export interface RefusalHourCount {
  /** Start of the hour, epoch ms. */
  hour: number;
  /** The resource server's client id. */
  clientId: string;
  /** `401 invalid_token`, `403 insufficient_scope`, … */
  kind: string;
  count: number;
}

/**
 * Counts per (hour, resource server, kind): a report adds to its hour's rows, so the table holds
 * at most hours × resource servers × kinds rows however many requests were refused, and hours
 * older than REFUSAL_HOURS_KEPT are dropped on each add (no sweeper).
 */
export interface RefusalStore {
  /** Adds the counts (kind → count) to the hour's rows of this resource server, in one transaction. */
  add(hour: number, clientId: string, counts: Readonly<Record<string, number>>): Promise<void>;
  /** Every row from `since` (epoch ms) on. */
  hourly(since: number): Promise<RefusalHourCount[]>;
}

/** How many hours of reported refusals the store keeps (the dashboard shows the last 24). */
export const REFUSAL_HOURS_KEPT = 24 * 7;

/** How many audit events the store keeps (the newest). */
export const AUDIT_EVENTS_KEPT = 50_000;

/** Thrown for account input that can never be stored (bad username, empty password, …). */
export class InvalidAccountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAccountError';
  }
}

/**
 * Models whose rows carry a grant id that `revokeByGrantId` must find. Others may have a
 * `grantId` in their payload too (Interaction does) but are not tokens of the grant.
 */
export const GRANTABLE_MODELS: ReadonlySet<string> = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

/**
 * oidc-provider's default `clockTolerance` (seconds). Rows outlive their TTL by this much so a
 * token the provider still accepts under that tolerance can still be found.
 */
export const CLOCK_TOLERANCE_SECONDS = 15;
