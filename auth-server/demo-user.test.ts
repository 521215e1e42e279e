import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkPasswordPolicy } from './accounts/password-policy.ts';
import { demoAccountLines, ensureDemoUser, isDemoAccountHint, parseDemoAccount } from './demo-user.ts';
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

describe('the demo-account line: one printer, one parser', () => {
  const demo = { username: 'demo', password: 'Zx3_q-9Lk2mA' };

  it('reads back what it prints, and recognises the hint under it', () => {
    const [line, hint] = demoAccountLines(demo);
    expect(line).toBe('  Demo account created — username: demo  password: Zx3_q-9Lk2mA');
    expect(parseDemoAccount(line!)).toEqual(demo);
    expect(parseDemoAccount(`\n${demoAccountLines(demo).join('\n')}\n\n`)).toEqual(demo);
    expect(isDemoAccountHint(hint!)).toBe(true);
    expect(isDemoAccountHint(line!)).toBe(false);
  });

  it('finds it behind a log collector’s prefix, and nowhere else', () => {
    expect(parseDemoAccount(`auth-server-1  | ${demoAccountLines(demo)[0]}`)).toEqual(demo);
    expect(parseDemoAccount('{"level":30,"msg":"auth server ready"}\nSign in with an account from DATA_DIR')).toBeUndefined();
  });
});
