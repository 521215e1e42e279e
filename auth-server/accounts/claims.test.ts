import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStorage } from '../storage/sqlite-store.ts';
import type { Storage } from '../storage/store.ts';
import { findAccountFor } from './claims.ts';

describe('findAccountFor', () => {
  let dir: string;
  let storage: Storage;
  // findAccount ignores the Koa context; oidc-provider always passes one.
  const ctx = {} as KoaContextWithOIDC;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-claims-'));
    storage = openSqliteStorage(dir);
  });
  afterEach(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('returns the account with sub, name, email (unverified), preferred_username and roles', async () => {
    const alice = await storage.accounts.add({
      username: 'Alice',
      password: 'pw',
      name: 'Alice Liddell',
      email: 'alice@example.com',
      roles: ['admin'],
    });
    const account = await findAccountFor(storage.accounts)(ctx, alice.id);
    expect(account?.accountId).toBe(alice.id);
    expect(await account?.claims('id_token', 'openid profile email', {}, [])).toEqual({
      sub: alice.id,
      name: 'Alice Liddell',
      email: 'alice@example.com',
      email_verified: false,
      preferred_username: 'Alice',
      roles: ['admin'],
    });
  });

  it('leaves out name and email the account does not have', async () => {
    const bob = await storage.accounts.add({ username: 'bob', password: 'pw' });
    const account = await findAccountFor(storage.accounts)(ctx, bob.id);
    const claims = JSON.parse(JSON.stringify(await account?.claims('userinfo', 'openid', {}, [])));
    expect(claims).toEqual({ sub: bob.id, preferred_username: 'bob', roles: [] });
  });

  it('returns undefined for a disabled account, and the account again once it is enabled', async () => {
    const bob = await storage.accounts.add({ username: 'bob', password: 'pw' });
    await storage.accounts.setDisabled('bob', true);
    expect(await findAccountFor(storage.accounts)(ctx, bob.id)).toBeUndefined();
    await storage.accounts.setDisabled('bob', false);
    expect((await findAccountFor(storage.accounts)(ctx, bob.id))?.accountId).toBe(bob.id);
  });

  it('returns undefined for an unknown sub', async () => {
    expect(await findAccountFor(storage.accounts)(ctx, 'no-such-sub')).toBeUndefined();
  });
});
