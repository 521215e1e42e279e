import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestSchema } from '../testing/postgres.ts';
import { openStorage } from './open-storage.ts';
import { openPostgresStorage } from './postgres-store.ts';

describe('openStorage', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('opens SQLite in DATA_DIR when DATABASE_URL is unset', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auth-open-'));
    dirs.push(dir);
    const storage = await openStorage({ DATA_DIR: dir, DATABASE_URL: '' });
    await storage.accounts.add({ username: 'alice', password: 'pw' });
    await storage.close();
    expect(existsSync(join(dir, 'auth.db'))).toBe(true);
  });

  it('opens PostgreSQL when DATABASE_URL is set, and DATA_DIR is left alone', async () => {
    const schema = await createTestSchema();
    const dir = await mkdtemp(join(tmpdir(), 'auth-open-'));
    dirs.push(dir);
    try {
      const storage = await openStorage({ DATABASE_URL: schema.url, DATABASE_POOL_SIZE: '2', DATA_DIR: dir });
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
});
