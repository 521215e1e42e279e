import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStorage } from './open-storage.ts';

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

  it('says plainly that PostgreSQL is not there yet', async () => {
    await expect(openStorage({ DATABASE_URL: 'postgres://localhost/auth' })).rejects.toThrow(
      'PostgreSQL storage is not implemented yet',
    );
  });
});
