import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadStorageConfig } from '../config.ts';
import { createTestSchema } from '../testing/postgres.ts';
import { openStorage } from './open-storage.ts';
import { openPostgresStorage } from './postgres-store.ts';

describe('openStorage', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('opens SQLite in dataDir when no databaseUrl is given', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auth-open-'));
    dirs.push(dir);
    const storage = await openStorage({ dataDir: dir, databaseUrl: undefined, databasePoolSize: 10, sqliteSynchronous: 'normal' });
    await storage.accounts.add({ username: 'alice', password: 'pw' });
    await storage.close();
    expect(existsSync(join(dir, 'auth.db'))).toBe(true);
  });

  it('opens PostgreSQL when databaseUrl is set, and dataDir is left alone', async () => {
    const schema = await createTestSchema();
    const dir = await mkdtemp(join(tmpdir(), 'auth-open-'));
    dirs.push(dir);
    try {
      const storage = await openStorage({ dataDir: dir, databaseUrl: schema.url, databasePoolSize: 2, sqliteSynchronous: 'normal' });
      await storage.accounts.add({ username: 'alice', password: 'pw' });
      await storage.close();
      const again = await openPostgresStorage(schema.url);
      expect((await again.accounts.list()).map((a) => a.username)).toEqual(['alice']);
      await again.close();
      expect(existsSync(join(dir, 'auth.db'))).toBe(false);
    } finally {
      await schema.drop();
    }
  });

  it('takes its options from the environment through loadStorageConfig: an empty DATABASE_URL means SQLite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auth-open-'));
    dirs.push(dir);
    const options = loadStorageConfig({ DATA_DIR: dir, DATABASE_URL: '' });
    expect(options).toEqual({ dataDir: dir, databaseUrl: undefined, databasePoolSize: 10, sqliteSynchronous: 'normal' });
    const storage = await openStorage(options);
    await storage.close();
    expect(existsSync(join(dir, 'auth.db'))).toBe(true);
  });
});
