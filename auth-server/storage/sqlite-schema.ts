import type { DatabaseSync } from 'node:sqlite';

/**
 * The SQLite schema as an append-only list of migrations. Entry i takes the database from
 * `user_version` i to i + 1. Never edit an entry that has shipped; add a new one.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE models (
    model      TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    grant_id   TEXT,
    uid        TEXT,
    user_code  TEXT,
    -- epoch milliseconds after which the row is gone (TTL + clock tolerance); NULL = never
    expires_at INTEGER,
    -- epoch seconds, mirrors payload.consumed
    consumed   INTEGER,
    PRIMARY KEY (model, id)
  );
  CREATE INDEX models_grant_id   ON models (grant_id)          WHERE grant_id IS NOT NULL;
  CREATE INDEX models_uid        ON models (model, uid)        WHERE uid IS NOT NULL;
  CREATE INDEX models_user_code  ON models (model, user_code)  WHERE user_code IS NOT NULL;
  CREATE INDEX models_expires_at ON models (expires_at)        WHERE expires_at IS NOT NULL;

  CREATE TABLE accounts (
    id            TEXT    NOT NULL PRIMARY KEY,
    -- stored as typed; NOCASE makes "Alice" and "alice" the same account (ASCII-only usernames)
    username      TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    password_hash TEXT    NOT NULL,
    name          TEXT,
    email         TEXT,
    roles         TEXT    NOT NULL DEFAULT '[]',
    created_at    INTEGER NOT NULL
  );
  `,
  `
  -- Leases serializing requests for one token across processes (provider/token-request-lock.ts).
  CREATE TABLE token_locks (
    key        TEXT    NOT NULL PRIMARY KEY,
    owner      TEXT    NOT NULL,
    -- epoch milliseconds; a lease past it is free for the taking
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX token_locks_expires_at ON token_locks (expires_at);

  -- Token responses kept for the refresh grace window.
  CREATE TABLE token_replays (
    key         TEXT    NOT NULL PRIMARY KEY,
    fingerprint TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL
  );
  CREATE INDEX token_replays_expires_at ON token_replays (expires_at);
  `,
  `
  -- Leases and replays moved to the attached, unsynced ephemeral file (sqlite-ephemeral.ts).
  DROP TABLE token_locks;
  DROP TABLE token_replays;
  `,
  `
  -- NULL while the account is active, else when it was disabled (epoch ms): npm run users -- disable.
  ALTER TABLE accounts ADD COLUMN disabled_at INTEGER;
  `,
  `
  -- Upstream identities (provider id + its sub) tied to our accounts (upstream/federated-accounts.ts).
  CREATE TABLE upstream_links (
    provider_id     TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    account_id      TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- 1 when the account was created by this link, 0 when an existing one was linked by email
    created_account INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (provider_id, subject)
  );
  CREATE INDEX upstream_links_account ON upstream_links (account_id);
  CREATE INDEX accounts_email ON accounts (email COLLATE NOCASE) WHERE email IS NOT NULL;
  `,
  `
  -- The newest audit events, for the admin console (storage/sqlite-audit.ts trims it on append).
  CREATE TABLE IF NOT EXISTS audit_events (
    id         INTEGER NOT NULL PRIMARY KEY,
    -- epoch milliseconds
    at         INTEGER NOT NULL,
    event      TEXT    NOT NULL,
    level      TEXT    NOT NULL,
    account_id TEXT,
    username   TEXT,
    client_id  TEXT,
    admin_id   TEXT,
    grant_type TEXT,
    ip         TEXT,
    message    TEXT    NOT NULL,
    detail     TEXT    NOT NULL
  );
  CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at);
  CREATE INDEX IF NOT EXISTS audit_events_account ON audit_events (account_id) WHERE account_id IS NOT NULL;
  CREATE INDEX IF NOT EXISTS audit_events_client ON audit_events (client_id) WHERE client_id IS NOT NULL;
  -- Signing keys when AUTH_KEY_STORE=database (keys/signing-key-store.ts): one row per key, the
  -- private JWK sealed with AUTH_ENCRYPTION_KEY; one generation counter every instance polls; the
  -- cookie-signing secrets, sealed too (every instance must sign cookies alike). Idempotent (IF NOT
  -- EXISTS): it touches only its own tables, whatever position the merge of migrations gives it.
  CREATE TABLE IF NOT EXISTS signing_keys (
    kid            TEXT NOT NULL PRIMARY KEY,
    alg            TEXT NOT NULL,
    state          TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    activated_at   TEXT,
    retiring_since TEXT,
    remove_after   TEXT,
    sealed_jwk     TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS signing_key_generation (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
  );
  INSERT INTO signing_key_generation (id, generation) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
  CREATE TABLE IF NOT EXISTS cookie_keys (
    id          INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    sealed_keys TEXT    NOT NULL
  );
  `,
  `
  -- The token vault (upstream/token-vault.ts): an upstream's tokens for one account, sealed with
  -- AUTH_ENCRYPTION_KEY and bound to (account, upstream); never in clear.
  CREATE TABLE IF NOT EXISTS upstream_tokens (
    account_id  TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    upstream_id TEXT    NOT NULL,
    sealed      TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, upstream_id)
  );
  `,
  `
  -- The revocation feed resource servers pull (revocation/revocations.ts): one row per revoked
  -- grant, account, client or personal access token, swept once no token it names can be alive.
  -- Idempotent (IF NOT EXISTS), touching only its own tables: its position among merged migrations does not matter.
  CREATE TABLE IF NOT EXISTS revocations (
    type        TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    -- epoch ms: when it was revoked, and when it was (last) recorded, the feed's cursor
    revoked_at  INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    -- epoch ms: the entry's "until"
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (type, id)
  );
  CREATE INDEX IF NOT EXISTS revocations_recorded_at ON revocations (recorded_at);
  CREATE INDEX IF NOT EXISTS revocations_expires_at ON revocations (expires_at);

  -- Personal access tokens (revocation/personal-access-tokens.ts): the SHA-256 of the token, never the token.
  CREATE TABLE IF NOT EXISTS personal_access_tokens (
    id           TEXT    NOT NULL PRIMARY KEY,
    account_id   TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    scope        TEXT    NOT NULL,
    resource     TEXT    NOT NULL,
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    UNIQUE (account_id, name)
  );
  CREATE INDEX IF NOT EXISTS personal_access_tokens_expires_at ON personal_access_tokens (expires_at);
  `,
  `
  -- Token refusals the resource servers reported with their feed pulls, per hour (storage/sqlite-refusals.ts).
  CREATE TABLE IF NOT EXISTS resource_server_refusals (
    hour      INTEGER NOT NULL,
    client_id TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (hour, client_id, kind)
  );
  `,
];

/** The latest schema version this program knows. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

/** Raised when the file was written by a newer version of this program. */
export class SchemaTooNewError extends Error {
  constructor(found: number, known: number) {
    super(`the database schema is version ${found}, but this program only knows up to ${known}; upgrade it`);
    this.name = 'SchemaTooNewError';
  }
}

/**
 * Brings the database to the latest schema. Safe to run from several processes at once:
 * each step runs in an IMMEDIATE transaction (one writer at a time) and re-reads the version
 * inside it, so a step another process already applied is skipped.
 *
 * ```ts source="./sqlite-schema.examples.ts#migrate"
 * migrate(new DatabaseSync('auth.db'));
 * ```
 */
export function migrate(db: DatabaseSync): void {
  for (;;) {
    db.exec('BEGIN IMMEDIATE');
    try {
      const version = userVersion(db);
      if (version > MIGRATIONS.length) throw new SchemaTooNewError(version, MIGRATIONS.length);
      const step = MIGRATIONS[version];
      if (step === undefined) {
        db.exec('COMMIT');
        return;
      }
      db.exec(step);
      // PRAGMA takes no bound parameters; the value is our own integer.
      db.exec(`PRAGMA user_version = ${version + 1}`);
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  }
}

function userVersion(db: DatabaseSync): number {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number } | undefined;
  return row?.user_version ?? 0;
}
