import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkPasswordPolicy } from './accounts/password-policy.ts';
import { ensureDemoUser } from './demo-user.ts';
import { openSqliteStorage } from './storage/sqlite-store.ts';
import type { Storage } from './storage/store.ts';

describe('ensureDemoUser', () => {
  let dir: string;
  let storage: Storage;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-demo-'));
    storage = openSqliteStorage(dir);
  });
  afterEach(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates an admin demo account whose random password passes the admin password policy', async () => {
    const created = await ensureDemoUser(storage.accounts);
    expect(created?.username).toBe('demo');
    const demo = await storage.accounts.authenticate('demo', created!.password);
    expect(demo?.roles).toEqual(['admin']);
    expect(() => checkPasswordPolicy(created!.password, demo!)).not.toThrow();
  });

  it('does nothing when any account exists', async () => {
    await storage.accounts.add({ username: 'alice', password: 'correct horse battery staple' });
    expect(await ensureDemoUser(storage.accounts)).toBeUndefined();
    expect(await storage.accounts.count()).toBe(1);
  });
});
