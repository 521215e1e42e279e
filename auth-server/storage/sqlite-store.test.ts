import { DatabaseSync } from 'node:sqlite';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStorage } from './sqlite-store.ts';
import { SchemaTooNewError, SQLITE_SCHEMA_VERSION } from './sqlite-schema.ts';
import { describeStorageContract } from './store.contract.ts';

describeStorageContract('SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'auth-sqlite-'));
  return {
    open: async ({ now, auditEventsKept }) => openSqliteStorage(dir, { now, auditEventsKept }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('openSqliteStorage', () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auth-sqlite-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('creates a missing data directory (0700) and an owner-only auth.db', async () => {
    const dataDir = join(await tempDir(), 'nested', 'data');
    const storage = openSqliteStorage(dataDir);
    await storage.close();
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dataDir, 'auth.db'))).mode & 0o777).toBe(0o600);
  });

  it('switches the file to WAL and records the schema version', async () => {
    const dir = await tempDir();
    const storage = openSqliteStorage(dir);
    await storage.close();
    const db = new DatabaseSync(join(dir, 'auth.db'));
    try {
      expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
      expect(db.prepare('PRAGMA user_version').get()).toEqual({ user_version: SQLITE_SCHEMA_VERSION });
    } finally {
      db.close();
    }
  });

  it('keeps token-request leases and replays in a separate unsynced file', async () => {
    const dir = await tempDir();
    const storage = openSqliteStorage(dir);
    await storage.locks.acquire('k', 'owner', 10_000);
    await storage.replays.put('k', { fingerprint: 'f', body: '{}' }, 10_000);
    await storage.close();
    expect((await stat(join(dir, 'token-requests.db'))).mode & 0o777).toBe(0o600);
    const ephemeral = new DatabaseSync(join(dir, 'token-requests.db'));
    const main = new DatabaseSync(join(dir, 'auth.db'));
    try {
      expect(ephemeral.prepare('SELECT key FROM token_locks').all()).toEqual([{ key: 'k' }]);
      expect(ephemeral.prepare('SELECT key FROM token_replays').all()).toEqual([{ key: 'k' }]);
      expect(main.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'token_%'").all()).toEqual([]);
    } finally {
      ephemeral.close();
      main.close();
    }
  });

  it('migrates idempotently: reopening and opening twice at once change nothing', async () => {
    const dir = await tempDir();
    const first = openSqliteStorage(dir);
    const second = openSqliteStorage(dir);
    await first.models.upsert('Client', 'c', { client_id: 'c' }, undefined);
    await first.close();
    await second.close();
    const third = openSqliteStorage(dir);
    expect(await third.models.find('Client', 'c')).toEqual({ client_id: 'c' });
    await third.close();
  });

  it('upgrades a file from before disabled accounts: existing accounts stay active', async () => {
    const dir = await tempDir();
    const before = openSqliteStorage(dir);
    const alice = await before.accounts.add({ username: 'alice', password: 'correct horse' });
    await before.close();
    // Back to version 3, as a file written before the migration (and before upstream links) would be.
    const db = new DatabaseSync(join(dir, 'auth.db'));
    db.exec('DROP TABLE upstream_links; DROP INDEX accounts_email; ALTER TABLE accounts DROP COLUMN disabled_at; PRAGMA user_version = 3');
    db.close();
    const after = openSqliteStorage(dir);
    try {
      expect(await after.accounts.authenticate('alice', 'correct horse')).toEqual({ ...alice, disabledAt: null });
    } finally {
      await after.close();
    }
  });

  it('refuses a database written by a newer schema', async () => {
    const dir = await tempDir();
    await openSqliteStorage(dir).close();
    const db = new DatabaseSync(join(dir, 'auth.db'));
    db.exec('PRAGMA user_version = 99');
    db.close();
    expect(() => openSqliteStorage(dir)).toThrow(SchemaTooNewError);
  });

  it('close is idempotent', async () => {
    const storage = openSqliteStorage(await tempDir());
    await storage.close();
    await storage.close();
  });
});
