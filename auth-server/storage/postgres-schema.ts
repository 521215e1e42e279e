import type { Pool } from 'pg';
import { SchemaTooNewError } from './sqlite-schema.ts';

/**
 * The PostgreSQL schema as an append-only list of migrations, written for a schema named by
 * `$S` (already quoted). Entry i takes the schema from version i to i + 1. Never edit an entry
 * that has shipped; add a new one.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE $S.models (
    model      text   NOT NULL,
    id         text   NOT NULL,
    payload    jsonb  NOT NULL,
    grant_id   text,
    uid        text,
    user_code  text,
    -- epoch milliseconds after which the row is gone (TTL + clock tolerance); NULL = never
    expires_at bigint,
    -- epoch seconds, mirrors payload.consumed
    consumed   bigint,
    PRIMARY KEY (model, id)
  );
  CREATE INDEX models_grant_id   ON $S.models (grant_id)         WHERE grant_id IS NOT NULL;
  CREATE INDEX models_uid        ON $S.models (model, uid)       WHERE uid IS NOT NULL;
  CREATE INDEX models_user_code  ON $S.models (model, user_code) WHERE user_code IS NOT NULL;
  CREATE INDEX models_expires_at ON $S.models (expires_at)       WHERE expires_at IS NOT NULL;

  CREATE TABLE $S.accounts (
    id            text   NOT NULL PRIMARY KEY,
    username      text   NOT NULL,
    password_hash text   NOT NULL,
    name          text,
    email         text,
    roles         jsonb  NOT NULL DEFAULT '[]',
    created_at    bigint NOT NULL
  );
  -- Usernames are ASCII-only (new-account.ts), so lower() is the same rule as SQLite's NOCASE.
  CREATE UNIQUE INDEX accounts_username ON $S.accounts (lower(username));

  -- Leases serializing requests for one token across instances (provider/token-request-lock.ts).
  -- UNLOGGED: no WAL, so taking and dropping a lease costs no fsync; after a database crash the
  -- table comes back empty, which only frees leases and forgets replays early (both short-lived).
  CREATE UNLOGGED TABLE $S.token_locks (
    key        text   NOT NULL PRIMARY KEY,
    owner      text   NOT NULL,
    expires_at bigint NOT NULL
  );
  CREATE INDEX token_locks_expires_at ON $S.token_locks (expires_at);

  -- Token responses kept for the refresh grace window.
  CREATE UNLOGGED TABLE $S.token_replays (
    key         text   NOT NULL PRIMARY KEY,
    fingerprint text   NOT NULL,
    body        text   NOT NULL,
    expires_at  bigint NOT NULL
  );
  CREATE INDEX token_replays_expires_at ON $S.token_replays (expires_at);
  `,
  `
  -- Rate-limit counters (security/rate-limits.ts), in rate-limiter-flexible's own layout. Created
  -- here, under the migration lock: left to the library, each limiter runs its own
  -- CREATE TABLE IF NOT EXISTS at start and concurrent ones fail (42P07), crashing the process.
  -- IF NOT EXISTS: a schema where an earlier version let the library create it keeps its rows.
  CREATE TABLE IF NOT EXISTS $S.rate_limits (
    key    varchar(255) PRIMARY KEY,
    points integer NOT NULL DEFAULT 0,
    expire bigint
  );
  `,
  `
  -- NULL while the account is active, else when it was disabled (epoch ms): npm run users -- disable.
  ALTER TABLE $S.accounts ADD COLUMN disabled_at bigint;
  `,
  `
  -- Upstream identities (provider id + its sub) tied to our accounts (upstream/federated-accounts.ts).
  CREATE TABLE $S.upstream_links (
    provider_id     text    NOT NULL,
    subject         text    NOT NULL,
    account_id      text    NOT NULL REFERENCES $S.accounts (id) ON DELETE CASCADE,
    -- true when the account was created by this link, false when an existing one was linked by email
    created_account boolean NOT NULL,
    created_at      bigint  NOT NULL,
    PRIMARY KEY (provider_id, subject)
  );
  CREATE INDEX upstream_links_account ON $S.upstream_links (account_id);
  CREATE INDEX accounts_email ON $S.accounts (lower(email)) WHERE email IS NOT NULL;
  `,
  `
  -- The newest audit events, for the admin console (storage/postgres-audit.ts trims it on append).
  CREATE TABLE IF NOT EXISTS $S.audit_events (
    id         bigserial PRIMARY KEY,
    -- epoch milliseconds
    at         bigint NOT NULL,
    event      text   NOT NULL,
    level      text   NOT NULL,
    account_id text,
    username   text,
    client_id  text,
    admin_id   text,
    grant_type text,
    ip         text,
    message    text   NOT NULL,
    detail     text   NOT NULL
  );
  CREATE INDEX IF NOT EXISTS audit_events_at ON $S.audit_events (at);
  CREATE INDEX IF NOT EXISTS audit_events_account ON $S.audit_events (account_id) WHERE account_id IS NOT NULL;
  CREATE INDEX IF NOT EXISTS audit_events_client ON $S.audit_events (client_id) WHERE client_id IS NOT NULL;
  -- Signing keys when AUTH_KEY_STORE=database (keys/signing-key-store.ts): one row per key, the
  -- private JWK sealed with AUTH_ENCRYPTION_KEY; one generation counter every instance polls; the
  -- cookie-signing secrets, sealed too (every instance must sign cookies alike). Idempotent (IF NOT
  -- EXISTS): it touches only its own tables, whatever position the merge of migrations gives it.
  CREATE TABLE IF NOT EXISTS $S.signing_keys (
    kid            text NOT NULL PRIMARY KEY,
    alg            text NOT NULL,
    state          text NOT NULL,
    created_at     text NOT NULL,
    activated_at   text,
    retiring_since text,
    remove_after   text,
    sealed_jwk     text NOT NULL
  );
  CREATE TABLE IF NOT EXISTS $S.signing_key_generation (
    id         integer NOT NULL PRIMARY KEY CHECK (id = 1),
    generation bigint NOT NULL
  );
  INSERT INTO $S.signing_key_generation (id, generation) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
  CREATE TABLE IF NOT EXISTS $S.cookie_keys (
    id          integer NOT NULL PRIMARY KEY CHECK (id = 1),
    sealed_keys text    NOT NULL
  );
  `,
  `
  -- The token vault (upstream/token-vault.ts): an upstream's tokens for one account, sealed with
  -- AUTH_ENCRYPTION_KEY and bound to (account, upstream); never in clear.
  CREATE TABLE IF NOT EXISTS $S.upstream_tokens (
    account_id  text    NOT NULL REFERENCES $S.accounts (id) ON DELETE CASCADE,
    upstream_id text    NOT NULL,
    sealed      text    NOT NULL,
    version     integer NOT NULL,
    updated_at  bigint  NOT NULL,
    PRIMARY KEY (account_id, upstream_id)
  );
  `,
  `
  -- The revocation feed resource servers pull (revocation/revocations.ts): one row per revoked
  -- grant, account, client or personal access token, swept once no token it names can be alive.
  -- Idempotent (IF NOT EXISTS), touching only its own tables: its position among merged migrations does not matter.
  CREATE TABLE IF NOT EXISTS $S.revocations (
    type        text   NOT NULL,
    id          text   NOT NULL,
    revoked_at  bigint NOT NULL,
    recorded_at bigint NOT NULL,
    expires_at  bigint NOT NULL,
    PRIMARY KEY (type, id)
  );
  CREATE INDEX IF NOT EXISTS revocations_recorded_at ON $S.revocations (recorded_at);
  CREATE INDEX IF NOT EXISTS revocations_expires_at ON $S.revocations (expires_at);

  -- Personal access tokens (revocation/personal-access-tokens.ts): the SHA-256 of the token, never the token.
  CREATE TABLE IF NOT EXISTS $S.personal_access_tokens (
    id           text   NOT NULL PRIMARY KEY,
    account_id   text   NOT NULL REFERENCES $S.accounts (id) ON DELETE CASCADE,
    name         text   NOT NULL,
    token_hash   text   NOT NULL UNIQUE,
    scope        text   NOT NULL,
    resource     text   NOT NULL,
    created_by   text   NOT NULL,
    created_at   bigint NOT NULL,
    expires_at   bigint NOT NULL,
    last_used_at bigint,
    UNIQUE (account_id, name)
  );
  CREATE INDEX IF NOT EXISTS personal_access_tokens_expires_at ON $S.personal_access_tokens (expires_at);
  `,
  `
  -- Token refusals the resource servers reported with their feed pulls, per hour (storage/postgres-refusals.ts).
  CREATE TABLE IF NOT EXISTS $S.resource_server_refusals (
    hour      bigint NOT NULL,
    client_id text   NOT NULL,
    kind      text   NOT NULL,
    count     bigint NOT NULL,
    PRIMARY KEY (hour, client_id, kind)
  );
  `,
];

/** Schema names we accept: plain identifiers, so quoting them is all the escaping needed. */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** `"name"`, after checking it is a plain identifier. */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(schema)}`);
  return `"${schema}"`;
}

/**
 * Creates the schema if needed and brings it to the latest version. Safe when several instances
 * start at once: everything runs under a session-level advisory lock keyed by the schema name,
 * so one instance migrates while the others wait and then find nothing left to do. Each step
 * commits together with its version bump.
 *
 * ```ts source="./postgres-schema.examples.ts#migrate"
 * await migrate(pool, 'public');
 * ```
 */
export async function migrate(pool: Pool, schema: string): Promise<void> {
  const s = quoteSchema(schema);
  const client = await pool.connect();
  const lockKey = `mcp-oauth-stack migrate ${schema}`;
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_version (version integer NOT NULL)`);
    for (;;) {
      await client.query('BEGIN');
      const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${s}.schema_version`);
      const version = rows[0]?.version ?? 0;
      if (version > MIGRATIONS.length) throw new SchemaTooNewError(version, MIGRATIONS.length);
      const step = MIGRATIONS[version];
      if (step === undefined) break;
      await client.query(step.replaceAll('$S', s));
      await client.query(`DELETE FROM ${s}.schema_version`);
      await client.query(`INSERT INTO ${s}.schema_version (version) VALUES ($1)`, [version + 1]);
      await client.query('COMMIT');
    }
    await client.query('COMMIT');
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]);
    client.release();
  } catch (error) {
    // Destroying the connection rolls back the open step and drops the advisory lock with it.
    client.release(error instanceof Error ? error : true);
    throw error;
  }
}

/** The latest schema version this program knows. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;
