import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { SealedSecretError, type EncryptionKeys } from '../keys/secrets-at-rest.ts';
import { tokenVault } from '../upstream/token-vault.ts';
import {
  AccountExistsError,
  InvalidAccountError,
  PersonalAccessTokenExistsError,
  type AuditEntry,
  type PersonalAccessToken,
  type Storage,
  REFUSAL_HOURS_KEPT,
} from './store.ts';

/** One backing store (a file, a database schema) that can be opened more than once. */
export interface StorageTarget {
  /** Opens a connection to the same data every time, with the given clock (epoch ms). */
  open(options: { now: () => number; auditEventsKept?: number }): Promise<Storage>;
  /** Removes the data. Called after every connection opened by the suite is closed. */
  cleanup(): Promise<void>;
}

const START = Date.UTC(2030, 0, 1);

/**
 * The behaviour every Storage implementation must have, as a vitest suite. Each test gets a
 * fresh target and a clock it can move, so expiry is tested without waiting.
 *
 * ```ts source="./store.contract.examples.ts#describeStorageContract"
 * describeStorageContract('SQLite', async () => {
 *   const dir = await mkdtemp(join(tmpdir(), 'auth-'));
 *   return {
 *     open: ({ now }) => Promise.resolve(openSqliteStorage(dir, { now })),
 *     cleanup: () => rm(dir, { recursive: true, force: true }),
 *   };
 * });
 * ```
 */
export function describeStorageContract(name: string, makeTarget: () => Promise<StorageTarget>): void {
  describe(`${name} storage contract`, () => {
    let target: StorageTarget;
    let opened: Storage[];
    let storage: Storage;
    let clock: number;
    const now = () => clock;
    const open = async () => {
      const s = await target.open({ now });
      opened.push(s);
      return s;
    };

    beforeEach(async () => {
      clock = START;
      opened = [];
      target = await makeTarget();
      storage = await open();
    });

    afterEach(async () => {
      for (const s of opened) await s.close();
      await target.cleanup();
    });

    describe('models', () => {
      it('finds what it stored', async () => {
        const payload = { jti: 'at1', grantId: 'g1', scope: 'openid mcp:tools', nested: { a: [1, 2] } };
        await storage.models.upsert('AccessToken', 'at1', payload, 60);
        expect(await storage.models.find('AccessToken', 'at1')).toEqual(payload);
      });

      it('returns undefined, never {}, for a missing id', async () => {
        expect(await storage.models.find('AccessToken', 'nope')).toBeUndefined();
        expect(await storage.models.findByUid('Session', 'nope')).toBeUndefined();
        expect(await storage.models.findByUserCode('DeviceCode', 'nope')).toBeUndefined();
      });

      it('keys rows by model and id', async () => {
        await storage.models.upsert('AccessToken', 'same', { kind: 'AccessToken' }, 60);
        await storage.models.upsert('RefreshToken', 'same', { kind: 'RefreshToken' }, 60);
        expect(await storage.models.find('AccessToken', 'same')).toEqual({ kind: 'AccessToken' });
        expect(await storage.models.find('RefreshToken', 'same')).toEqual({ kind: 'RefreshToken' });
      });

      it('replaces the payload on a second upsert', async () => {
        await storage.models.upsert('Session', 's1', { uid: 'u1', v: 1 }, 60);
        await storage.models.upsert('Session', 's1', { uid: 'u2', v: 2 }, 60);
        expect(await storage.models.find('Session', 's1')).toEqual({ uid: 'u2', v: 2 });
        expect(await storage.models.findByUid('Session', 'u1')).toBeUndefined();
        expect(await storage.models.findByUid('Session', 'u2')).toEqual({ uid: 'u2', v: 2 });
      });

      it('keeps a row for its TTL plus the 15 s clock tolerance, then forgets it', async () => {
        await storage.models.upsert('AuthorizationCode', 'c1', { grantId: 'g' }, 10);
        clock = START + 24_999;
        expect(await storage.models.find('AuthorizationCode', 'c1')).toEqual({ grantId: 'g' });
        clock = START + 25_000;
        expect(await storage.models.find('AuthorizationCode', 'c1')).toBeUndefined();
      });

      it('keeps a row without expiresIn forever (registered clients)', async () => {
        await storage.models.upsert('Client', 'client1', { client_id: 'client1' }, undefined);
        clock = START + 10 * 365 * 86_400_000;
        expect(await storage.models.find('Client', 'client1')).toEqual({ client_id: 'client1' });
      });

      it('finds a Session by uid and a DeviceCode by userCode, until they expire', async () => {
        await storage.models.upsert('Session', 's1', { uid: 'uid-1', accountId: 'a' }, 60);
        await storage.models.upsert('DeviceCode', 'd1', { userCode: 'ABCD-EFGH', grantId: 'g' }, 60);
        expect(await storage.models.findByUid('Session', 'uid-1')).toEqual({ uid: 'uid-1', accountId: 'a' });
        expect(await storage.models.findByUserCode('DeviceCode', 'ABCD-EFGH')).toEqual({
          userCode: 'ABCD-EFGH',
          grantId: 'g',
        });
        expect(await storage.models.findByUid('Interaction', 'uid-1')).toBeUndefined();
        clock = START + 75_000;
        expect(await storage.models.findByUid('Session', 'uid-1')).toBeUndefined();
        expect(await storage.models.findByUserCode('DeviceCode', 'ABCD-EFGH')).toBeUndefined();
      });

      it('lists the live rows of one model by id', async () => {
        await storage.models.upsert('Client', 'b', { client_id: 'b' }, undefined);
        await storage.models.upsert('Client', 'a', { client_id: 'a' }, 60);
        await storage.models.upsert('Client', 'c', { client_id: 'c' }, 1);
        await storage.models.upsert('AccessToken', 'x', { jti: 'x' }, 60);
        clock += 20_000;
        expect(await storage.models.list('Client')).toEqual([
          { id: 'a', payload: { client_id: 'a' } },
          { id: 'b', payload: { client_id: 'b' } },
        ]);
        expect(await storage.models.list('Grant')).toEqual([]);
      });

      it('consume sets payload.consumed to the current epoch seconds', async () => {
        await storage.models.upsert('RefreshToken', 'rt1', { grantId: 'g', jti: 'rt1' }, 3600);
        clock = START + 1_500;
        await storage.models.consume('RefreshToken', 'rt1');
        expect(await storage.models.find('RefreshToken', 'rt1')).toEqual({
          grantId: 'g',
          jti: 'rt1',
          consumed: Math.floor((START + 1_500) / 1000),
        });
      });

      it('rotate consumes one row and writes the other, like consume then upsert', async () => {
        if (!storage.models.rotate) return;
        await storage.models.upsert('RefreshToken', 'rt1', { grantId: 'g', jti: 'rt1' }, 3600);
        clock = START + 1_500;
        await storage.models.rotate('RefreshToken', 'rt1', 'rt2', { grantId: 'g', jti: 'rt2' }, 60);
        expect(await storage.models.find('RefreshToken', 'rt1')).toEqual({
          grantId: 'g',
          jti: 'rt1',
          consumed: Math.floor((START + 1_500) / 1000),
        });
        expect(await storage.models.find('RefreshToken', 'rt2')).toEqual({ grantId: 'g', jti: 'rt2' });
        // Stored like upsert's rows: revoked with its grant, and gone after its TTL.
        clock += 80_000;
        expect(await storage.models.find('RefreshToken', 'rt2')).toBeUndefined();
        await storage.models.rotate('RefreshToken', 'rt1', 'rt3', { grantId: 'g', jti: 'rt3' }, 3600);
        await storage.models.revokeByGrantId('g');
        expect(await storage.models.find('RefreshToken', 'rt3')).toBeUndefined();
      });

      it('consume of a missing id does nothing', async () => {
        await storage.models.consume('RefreshToken', 'missing');
        expect(await storage.models.find('RefreshToken', 'missing')).toBeUndefined();
      });

      it('destroy removes one row', async () => {
        await storage.models.upsert('AccessToken', 'a', {}, 60);
        await storage.models.upsert('AccessToken', 'b', {}, 60);
        await storage.models.destroy('AccessToken', 'a');
        expect(await storage.models.find('AccessToken', 'a')).toBeUndefined();
        expect(await storage.models.find('AccessToken', 'b')).toEqual({});
      });

      it('revokeByGrantId removes every token of that grant and no other', async () => {
        await storage.models.upsert('AccessToken', 'at1', { grantId: 'g1' }, 60);
        await storage.models.upsert('RefreshToken', 'rt1', { grantId: 'g1' }, 60);
        await storage.models.upsert('AuthorizationCode', 'c1', { grantId: 'g1' }, 60);
        await storage.models.upsert('DeviceCode', 'd1', { grantId: 'g1', userCode: 'X' }, 60);
        await storage.models.upsert('RefreshToken', 'rt2', { grantId: 'g2' }, 60);
        await storage.models.upsert('Grant', 'g1', { accountId: 'a', clientId: 'c' }, 60);
        // An Interaction carries a grantId but is not a token of the grant.
        await storage.models.upsert('Interaction', 'i1', { grantId: 'g1' }, 60);

        await storage.models.revokeByGrantId('g1');

        for (const [model, id] of [
          ['AccessToken', 'at1'],
          ['RefreshToken', 'rt1'],
          ['AuthorizationCode', 'c1'],
          ['DeviceCode', 'd1'],
        ] as const) {
          expect(await storage.models.find(model, id), `${model} ${id}`).toBeUndefined();
        }
        expect(await storage.models.findByUserCode('DeviceCode', 'X')).toBeUndefined();
        expect(await storage.models.find('RefreshToken', 'rt2')).toEqual({ grantId: 'g2' });
        expect(await storage.models.find('Grant', 'g1')).toBeDefined();
        expect(await storage.models.find('Interaction', 'i1')).toBeDefined();
      });

      it("revokeByAccountId removes the account's sessions, grants, tokens and open interactions, and nothing else", async () => {
        const mine = [
          ['Session', 's1', { uid: 'u1', accountId: 'acct-1', authorizations: { c: { grantId: 'g1' } } }],
          ['Grant', 'g1', { accountId: 'acct-1', clientId: 'c' }],
          ['RefreshToken', 'rt1', { accountId: 'acct-1', grantId: 'g1' }],
          ['AccessToken', 'at1', { accountId: 'acct-1', grantId: 'g1' }],
          ['AuthorizationCode', 'c1', { accountId: 'acct-1', grantId: 'g1' }],
          ['Interaction', 'i1', { session: { accountId: 'acct-1', uid: 'u1' } }],
          ['Interaction', 'i2', { result: { login: { accountId: 'acct-1' } } }],
        ] as const;
        const others = [
          ['Session', 's2', { uid: 'u2', accountId: 'acct-2' }],
          ['RefreshToken', 'rt2', { accountId: 'acct-2', grantId: 'g2' }],
          ['Interaction', 'i3', { params: { login_hint: 'acct-1' } }],
          ['Client', 'c', { client_id: 'c' }],
        ] as const;
        for (const [model, id, payload] of [...mine, ...others]) await storage.models.upsert(model, id, payload, 600);

        expect(await storage.models.revokeByAccountId('acct-1')).toBe(mine.length);
        for (const [model, id] of mine) expect(await storage.models.find(model, id), `${model} ${id}`).toBeUndefined();
        for (const [model, id, payload] of others) expect(await storage.models.find(model, id), `${model} ${id}`).toEqual(payload);
        expect(await storage.models.revokeByAccountId('acct-1')).toBe(0);
      });

      it('sweepExpired removes only expired rows and counts them', async () => {
        await storage.models.upsert('AccessToken', 'short', {}, 10);
        await storage.models.upsert('AccessToken', 'long', {}, 3600);
        await storage.models.upsert('Client', 'forever', {}, undefined);
        expect(await storage.models.sweepExpired()).toBe(0);
        clock = START + 30_000;
        expect(await storage.models.sweepExpired()).toBe(1);
        expect(await storage.models.find('AccessToken', 'long')).toEqual({});
        expect(await storage.models.find('Client', 'forever')).toEqual({});
        // The swept row is gone for good, even if the clock went back.
        clock = START;
        expect(await storage.models.find('AccessToken', 'short')).toBeUndefined();
      });

      it('sweepExpired works through more rows than one batch', async () => {
        for (let i = 0; i < 1_203; i++) await storage.models.upsert('Interaction', `i${i}`, { i }, 1);
        await storage.models.upsert('Interaction', 'alive', {}, 3600);
        clock = START + 60_000;
        expect(await storage.models.sweepExpired()).toBe(1_203);
        expect(await storage.models.find('Interaction', 'alive')).toEqual({});
      });

      it('keeps clients, grants and refresh tokens across close and reopen', async () => {
        await storage.models.upsert('Client', 'c1', { client_id: 'c1' }, undefined);
        await storage.models.upsert('Grant', 'g1', { accountId: 'a' }, 86_400);
        await storage.models.upsert('RefreshToken', 'rt1', { grantId: 'g1' }, 86_400);
        await storage.models.consume('RefreshToken', 'rt1');
        await storage.close();

        const reopened = await open();
        expect(await reopened.models.find('Client', 'c1')).toEqual({ client_id: 'c1' });
        expect(await reopened.models.find('Grant', 'g1')).toEqual({ accountId: 'a' });
        expect(await reopened.models.find('RefreshToken', 'rt1')).toEqual({
          grantId: 'g1',
          consumed: Math.floor(START / 1000),
        });
      });

      it('lets two connections share the data', async () => {
        const other = await open();
        await storage.models.upsert('RefreshToken', 'rt1', { grantId: 'g1' }, 60);
        expect(await other.models.find('RefreshToken', 'rt1')).toEqual({ grantId: 'g1' });
        await other.models.revokeByGrantId('g1');
        expect(await storage.models.find('RefreshToken', 'rt1')).toBeUndefined();
      });
    });

    describe('token-request locks', () => {
      it('gives a key to one owner at a time, even when many ask at once', async () => {
        const other = await open();
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? other : storage).locks.acquire('k', `owner-${i}`, 10_000)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await storage.locks.acquire('other-key', 'owner-x', 10_000)).toBe(true);
      });

      it('frees a key on release by its owner, not by anyone else', async () => {
        expect(await storage.locks.acquire('k', 'a', 10_000)).toBe(true);
        await storage.locks.release('k', 'b');
        expect(await storage.locks.acquire('k', 'b', 10_000)).toBe(false);
        await storage.locks.release('k', 'a');
        expect(await storage.locks.acquire('k', 'b', 10_000)).toBe(true);
      });

      it('lets the next owner take a lease whose holder never released it, once it expires', async () => {
        expect(await storage.locks.acquire('k', 'crashed', 10_000)).toBe(true);
        clock = START + 9_999;
        expect(await storage.locks.acquire('k', 'next', 10_000)).toBe(false);
        clock = START + 10_000;
        expect(await storage.locks.acquire('k', 'next', 10_000)).toBe(true);
        // The old holder's late release does not free the new owner's lease.
        await storage.locks.release('k', 'crashed');
        expect(await storage.locks.acquire('k', 'third', 10_000)).toBe(false);
      });

      it('stores the replay given with a release in the same write, seen by the next holder on any connection', async () => {
        const other = await open();
        expect(await storage.locks.acquire('k', 'a', 10_000)).toBe(true);
        await storage.locks.release('k', 'a', { entry: { fingerprint: 'f', body: '{"access_token":"x"}' }, ttlMs: 5_000 });
        expect(await other.locks.acquire('k', 'b', 10_000)).toBe(true);
        expect(await other.replays.get('k')).toEqual({ fingerprint: 'f', body: '{"access_token":"x"}' });
        clock = START + 5_000;
        expect(await other.replays.get('k')).toBeUndefined();
      });
    });

    describe('token replays', () => {
      it('returns what was put, to any connection, until its TTL ends', async () => {
        const other = await open();
        await storage.replays.put('r1', { fingerprint: 'f', body: '{"access_token":"x"}' }, 5_000);
        expect(await other.replays.get('r1')).toEqual({ fingerprint: 'f', body: '{"access_token":"x"}' });
        expect(await other.replays.get('r2')).toBeUndefined();
        clock = START + 5_000;
        expect(await storage.replays.get('r1')).toBeUndefined();
      });

      it('replaces an entry put again under the same key', async () => {
        await storage.replays.put('r1', { fingerprint: 'f1', body: 'one' }, 5_000);
        clock = START + 6_000;
        await storage.replays.put('r1', { fingerprint: 'f2', body: 'two' }, 5_000);
        expect(await storage.replays.get('r1')).toEqual({ fingerprint: 'f2', body: 'two' });
      });

      it('are swept with the expired models, and live ones are kept', async () => {
        await storage.replays.put('old', { fingerprint: 'f', body: 'b' }, 1_000);
        await storage.replays.put('new', { fingerprint: 'f', body: 'b' }, 60_000);
        await storage.locks.acquire('old-lock', 'o', 1_000);
        clock = START + 2_000;
        expect(await storage.models.sweepExpired()).toBe(2);
        expect(await storage.replays.get('new')).toEqual({ fingerprint: 'f', body: 'b' });
        // The swept lease is gone, so it can be taken; the swept replay does not come back.
        clock = START;
        expect(await storage.replays.get('old')).toBeUndefined();
        expect(await storage.locks.acquire('old-lock', 'p', 1_000)).toBe(true);
      });
    });

    describe('accounts', () => {
      it('adds an account with a random id and finds it by id and by username', async () => {
        const alice = await storage.accounts.add({
          username: 'alice',
          password: 'correct horse',
          name: 'Alice Liddell',
          email: 'alice@example.com',
          roles: ['admin', 'user'],
        });
        expect(alice).toEqual({
          id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
          username: 'alice',
          name: 'Alice Liddell',
          email: 'alice@example.com',
          roles: ['admin', 'user'],
          createdAt: START,
          disabledAt: null,
        });
        expect(await storage.accounts.findById(alice.id)).toEqual(alice);
        expect(await storage.accounts.findByUsername('alice')).toEqual(alice);
        expect(await storage.accounts.findById('unknown')).toBeUndefined();
        expect(await storage.accounts.findByUsername('bob')).toBeUndefined();
      });

      it('stores the username as given and finds it case-insensitively', async () => {
        const alice = await storage.accounts.add({ username: 'Alice', password: 'pw' });
        expect(alice.username).toBe('Alice');
        expect(await storage.accounts.findByUsername('ALICE')).toEqual(alice);
      });

      it('refuses a duplicate username, whatever its case', async () => {
        await storage.accounts.add({ username: 'alice', password: 'pw' });
        await expect(storage.accounts.add({ username: 'ALICE', password: 'pw2' })).rejects.toBeInstanceOf(AccountExistsError);
        expect(await storage.accounts.count()).toBe(1);
      });

      it('authenticates the right password only', async () => {
        const alice = await storage.accounts.add({ username: 'alice', password: 'correct horse' });
        expect(await storage.accounts.authenticate('alice', 'correct horse')).toEqual(alice);
        expect(await storage.accounts.authenticate('ALICE', 'correct horse')).toEqual(alice);
        expect(await storage.accounts.authenticate('alice', 'Correct horse')).toBeUndefined();
        expect(await storage.accounts.authenticate('alice', '')).toBeUndefined();
        expect(await storage.accounts.authenticate('bob', 'correct horse')).toBeUndefined();
        expect(await storage.accounts.authenticate('not a username!', 'x')).toBeUndefined();
      });

      it('refuses bad usernames, emails and roles with InvalidAccountError', async () => {
        for (const username of ['', 'a b', 'x'.repeat(65), 'ünïcode', 'semi;colon', 'new\nline']) {
          await expect(storage.accounts.add({ username, password: 'pw' }), JSON.stringify(username)).rejects.toBeInstanceOf(
            InvalidAccountError,
          );
        }
        await expect(storage.accounts.add({ username: 'a', password: 'pw', email: 'not-an-email' })).rejects.toBeInstanceOf(
          InvalidAccountError,
        );
        await expect(storage.accounts.add({ username: 'a', password: 'pw', roles: ['has space'] })).rejects.toBeInstanceOf(
          InvalidAccountError,
        );
        await expect(storage.accounts.add({ username: 'a', password: '' })).rejects.toBeInstanceOf(InvalidAccountError);
        expect(await storage.accounts.count()).toBe(0);
      });

      it('accepts the longest and the odd-but-allowed usernames', async () => {
        for (const username of ['x'.repeat(64), 'a', 'first.last@example-corp_1']) {
          await storage.accounts.add({ username, password: 'pw' });
        }
        expect(await storage.accounts.count()).toBe(3);
      });

      it('lists accounts by username and removes them', async () => {
        await storage.accounts.add({ username: 'carol', password: 'pw' });
        await storage.accounts.add({ username: 'alice', password: 'pw' });
        await storage.accounts.add({ username: 'bob', password: 'pw' });
        expect((await storage.accounts.list()).map((a) => a.username)).toEqual(['alice', 'bob', 'carol']);

        expect(await storage.accounts.remove('BOB')).toBe(true);
        expect(await storage.accounts.remove('bob')).toBe(false);
        expect(await storage.accounts.authenticate('bob', 'pw')).toBeUndefined();
        expect(await storage.accounts.count()).toBe(2);
      });

      it('sets a new password: the new one authenticates, the old one no longer does', async () => {
        const alice = await storage.accounts.add({ username: 'alice', password: 'old password' });
        expect(await storage.accounts.setPassword('ALICE', 'new password')).toEqual(alice);
        expect(await storage.accounts.authenticate('alice', 'new password')).toEqual(alice);
        expect(await storage.accounts.authenticate('alice', 'old password')).toBeUndefined();
      });

      it('sets no password for an unknown user, and refuses one the hash cannot take', async () => {
        await storage.accounts.add({ username: 'alice', password: 'old password' });
        expect(await storage.accounts.setPassword('bob', 'new password')).toBeUndefined();
        expect(await storage.accounts.setPassword('not a username!', 'new password')).toBeUndefined();
        await expect(storage.accounts.setPassword('alice', '')).rejects.toBeInstanceOf(InvalidAccountError);
        expect(await storage.accounts.authenticate('alice', 'old password')).toBeDefined();
      });

      it('a disabled account keeps its data but never authenticates, until it is enabled again', async () => {
        const alice = await storage.accounts.add({ username: 'alice', password: 'correct horse' });
        clock = START + 1_000;
        const disabled = await storage.accounts.setDisabled('Alice', true);
        expect(disabled).toEqual({ ...alice, disabledAt: START + 1_000 });
        expect(await storage.accounts.findById(alice.id)).toEqual(disabled);
        expect(await storage.accounts.authenticate('alice', 'correct horse')).toBeUndefined();
        // Disabling again keeps the first date.
        clock = START + 2_000;
        expect((await storage.accounts.setDisabled('alice', true))?.disabledAt).toBe(START + 1_000);

        expect(await storage.accounts.setDisabled('alice', false)).toEqual(alice);
        expect(await storage.accounts.authenticate('alice', 'correct horse')).toEqual(alice);
        expect(await storage.accounts.setDisabled('bob', true)).toBeUndefined();
      });

      it('keeps accounts across close and reopen', async () => {
        const alice = await storage.accounts.add({ username: 'alice', password: 'pw', roles: ['admin'] });
        await storage.close();
        const reopened = await open();
        expect(await reopened.accounts.authenticate('alice', 'pw')).toEqual(alice);
      });
    });

    describe('upstream links', () => {
      it('links an upstream identity to an account once: a second link of the same identity loses', async () => {
        const alice = await storage.accounts.add({ username: 'alice', password: 'pw' });
        const bob = await storage.accounts.add({ username: 'bob', password: 'pw' });
        expect(await storage.accounts.findLink('google', '1234')).toBeUndefined();
        clock = START + 5;
        expect(await storage.accounts.addLink({ providerId: 'google', subject: '1234', accountId: alice.id, createdAccount: true })).toBe(
          true,
        );
        expect(await storage.accounts.addLink({ providerId: 'google', subject: '1234', accountId: bob.id, createdAccount: false })).toBe(
          false,
        );
        // The same subject at another provider is another person.
        expect(await storage.accounts.addLink({ providerId: 'github', subject: '1234', accountId: bob.id, createdAccount: false })).toBe(
          true,
        );
        expect(await storage.accounts.findLink('google', '1234')).toEqual({
          providerId: 'google',
          subject: '1234',
          accountId: alice.id,
          createdAccount: true,
          createdAt: START + 5,
        });
        expect((await storage.accounts.listLinks()).map((l) => [l.providerId, l.accountId])).toEqual(
          [
            ['google', alice.id],
            ['github', bob.id],
          ].sort((a, b) => (a[1]! < b[1]! ? -1 : a[1]! > b[1]! ? 1 : 0)),
        );
      });

      it('removing an account removes its links', async () => {
        const alice = await storage.accounts.add({ username: 'alice', password: 'pw' });
        await storage.accounts.addLink({ providerId: 'google', subject: 'a', accountId: alice.id, createdAccount: true });
        expect(await storage.accounts.remove('alice')).toBe(true);
        expect(await storage.accounts.findLink('google', 'a')).toBeUndefined();
        expect(await storage.accounts.listLinks()).toEqual([]);
      });

      it('finds accounts by email whatever its case, and updates name, email and roles with the new-account checks', async () => {
        const alice = await storage.accounts.add({ username: 'alice', password: 'pw', email: 'Alice@Example.com' });
        expect((await storage.accounts.findByEmail('alice@example.COM')).map((a) => a.id)).toEqual([alice.id]);
        expect(await storage.accounts.findByEmail('bob@example.com')).toEqual([]);
        const updated = await storage.accounts.updateProfile(alice.id, {
          name: 'Alice A',
          email: 'a@corp.example',
          roles: ['user', 'user', 'admin'],
        });
        expect(updated).toEqual({ ...alice, name: 'Alice A', email: 'a@corp.example', roles: ['user', 'admin'] });
        expect(await storage.accounts.findById(alice.id)).toEqual(updated);
        await expect(storage.accounts.updateProfile(alice.id, { name: null, email: null, roles: ['bad role'] })).rejects.toThrow(
          /invalid role/,
        );
        expect(await storage.accounts.updateProfile('nobody', { name: null, email: null, roles: [] })).toBeUndefined();
      });
    });

    describe('audit events', () => {
      const entry = (event: string, fields: Partial<AuditEntry> = {}): AuditEntry => ({
        at: clock,
        event,
        level: 'info',
        accountId: null,
        username: null,
        clientId: null,
        adminId: null,
        grantType: null,
        ip: null,
        message: event,
        detail: '{}',
        ...fields,
      });

      it('returns the newest first, filtered by account, client and event or event family', async () => {
        await storage.audit.append([
          entry('login.success', { accountId: 'u1', username: 'alice', ip: '127.0.0.1' }),
          entry('grant.success', { accountId: 'u1', clientId: 'c1', grantType: 'authorization_code' }),
          entry('login.failed', { username: 'bob' }),
          entry('grant.success', { clientId: 'c2', grantType: 'client_credentials', detail: '{"scope":"mcp:tools"}' }),
        ]);
        const all = await storage.audit.recent({ limit: 10 });
        expect(all.map((e) => e.event)).toEqual(['grant.success', 'login.failed', 'grant.success', 'login.success']);
        expect(all[0]).toMatchObject({ clientId: 'c2', grantType: 'client_credentials', detail: '{"scope":"mcp:tools"}', at: START });
        expect((await storage.audit.recent({ limit: 10, accountId: 'u1' })).map((e) => e.event)).toEqual([
          'grant.success',
          'login.success',
        ]);
        expect((await storage.audit.recent({ limit: 10, clientId: 'c1' })).map((e) => e.accountId)).toEqual(['u1']);
        expect((await storage.audit.recent({ limit: 10, event: 'login' })).map((e) => e.event)).toEqual(['login.failed', 'login.success']);
        expect((await storage.audit.recent({ limit: 10, event: 'login.failed' })).map((e) => e.username)).toEqual(['bob']);
        // A family is a whole name segment: "log" is not "login".
        expect(await storage.audit.recent({ limit: 10, event: 'log' })).toEqual([]);
        expect(await storage.audit.recent({ limit: 1 })).toHaveLength(1);
      });

      it('counts events per hour and grant type, and knows when each client last got a token', async () => {
        const hour = 3_600_000;
        await storage.audit.append([
          entry('grant.success', { clientId: 'c1', grantType: 'authorization_code', at: START + 10 }),
          entry('grant.success', { clientId: 'c1', grantType: 'authorization_code', at: START + 20 }),
          entry('grant.success', { clientId: 'c2', grantType: 'client_credentials', at: START + hour + 5 }),
          entry('login.failed', { at: START + hour + 6 }),
          entry('grant.success', { clientId: 'c1', grantType: 'refresh_token', at: START - hour }),
        ]);
        const counts = await storage.audit.hourly(START, ['grant.success', 'login.failed']);
        expect(counts).toEqual(
          expect.arrayContaining([
            { hour: START, event: 'grant.success', grantType: 'authorization_code', count: 2 },
            { hour: START + hour, event: 'grant.success', grantType: 'client_credentials', count: 1 },
            { hour: START + hour, event: 'login.failed', grantType: null, count: 1 },
          ]),
        );
        expect(counts).toHaveLength(3);
        expect(Object.fromEntries(await storage.audit.lastTokens())).toEqual({ c1: START + 20, c2: START + hour + 5 });
      });

      it('keeps only the newest events beyond its bound', async () => {
        const small = await target.open({ now, auditEventsKept: 3 });
        opened.push(small);
        await small.audit.append([entry('e.1'), entry('e.2')]);
        await small.audit.append([entry('e.3'), entry('e.4'), entry('e.5')]);
        expect((await small.audit.recent({ limit: 10 })).map((e) => e.event)).toEqual(['e.5', 'e.4', 'e.3']);
      });
    });

    describe('resource-server refusals', () => {
      const hour = 3_600_000;
      const h0 = Math.floor(START / hour) * hour;

      it('adds reports to their hour per resource server and kind, and reads them back from an hour on', async () => {
        await storage.refusals.add(h0, 'rs-a', { '401 invalid_token': 2, '403 insufficient_scope': 1 });
        await storage.refusals.add(h0, 'rs-a', { '401 invalid_token': 3, '401 missing_token': 0 });
        await storage.refusals.add(h0, 'rs-b', { '401 invalid_token': 1 });
        await storage.refusals.add(h0 + hour, 'rs-a', { '401 missing_token': 4 });
        await storage.refusals.add(h0 - hour, 'rs-a', { other: 9 });
        await storage.refusals.add(h0, 'rs-a', {});
        expect(await storage.refusals.hourly(h0)).toEqual([
          { hour: h0, clientId: 'rs-a', kind: '401 invalid_token', count: 5 },
          { hour: h0, clientId: 'rs-a', kind: '403 insufficient_scope', count: 1 },
          { hour: h0, clientId: 'rs-b', kind: '401 invalid_token', count: 1 },
          { hour: h0 + hour, clientId: 'rs-a', kind: '401 missing_token', count: 4 },
        ]);
        expect(await storage.refusals.hourly(h0 - hour)).toHaveLength(5);
      });

      it('drops hours older than REFUSAL_HOURS_KEPT when a newer report is added', async () => {
        await storage.refusals.add(h0, 'rs-a', { other: 1 });
        await storage.refusals.add(h0 + hour, 'rs-a', { other: 3 });
        const later = h0 + (REFUSAL_HOURS_KEPT + 1) * hour;
        await storage.refusals.add(later, 'rs-a', { other: 2 });
        expect(await storage.refusals.hourly(0)).toEqual([
          { hour: h0 + hour, clientId: 'rs-a', kind: 'other', count: 3 },
          { hour: later, clientId: 'rs-a', kind: 'other', count: 2 },
        ]);
      });
    });

    describe('revocation feed', () => {
      it('returns live entries recorded since a cursor, in the order recorded, to any connection', async () => {
        await storage.revocations.add({ type: 'grant', id: 'g1', at: START, until: START + 60_000 });
        clock += 1_000;
        await storage.revocations.add({ type: 'account', id: 'acc1', at: clock, until: START + 120_000 });
        clock += 1_000;
        await storage.revocations.add({ type: 'client', id: 'c1', at: clock, until: START + 120_000 });
        await storage.revocations.add({ type: 'pat', id: 'p1', at: clock, until: START + 120_000 });
        const other = await open();
        expect((await other.revocations.recordedSince(0)).map((e) => `${e.type}:${e.id}`)).toEqual([
          'grant:g1',
          'account:acc1',
          'client:c1',
          'pat:p1',
        ]);
        expect(await other.revocations.recordedSince(START + 1_000)).toEqual([
          { type: 'account', id: 'acc1', at: START + 1_000, until: START + 120_000 },
          { type: 'client', id: 'c1', at: START + 2_000, until: START + 120_000 },
          { type: 'pat', id: 'p1', at: START + 2_000, until: START + 120_000 },
        ]);
      });

      it('keeps an entry until its until, then drops it from reads and the sweep removes it', async () => {
        await storage.revocations.add({ type: 'grant', id: 'short', at: START, until: START + 10_000 });
        await storage.revocations.add({ type: 'grant', id: 'long', at: START, until: START + 20_000 });
        clock = START + 10_000;
        expect((await storage.revocations.recordedSince(0)).map((e) => e.id)).toEqual(['long']);
        expect(await storage.models.sweepExpired()).toBe(1);
        clock = START + 20_000;
        expect(await storage.revocations.recordedSince(0)).toEqual([]);
      });

      it('recording the same entry again keeps the later at and until and makes it new for incremental readers', async () => {
        await storage.revocations.add({ type: 'account', id: 'a', at: START, until: START + 50_000 });
        clock += 5_000;
        await storage.revocations.add({ type: 'account', id: 'a', at: START + 5_000, until: START + 30_000 });
        expect(await storage.revocations.recordedSince(START + 5_000)).toEqual([
          { type: 'account', id: 'a', at: START + 5_000, until: START + 50_000 },
        ]);
      });
    });

    describe('personal access tokens', () => {
      const pat = (accountId: string, overrides: Partial<PersonalAccessToken> = {}): PersonalAccessToken => ({
        id: `id-${Math.random().toString(36).slice(2)}`,
        accountId,
        name: 'ci',
        scope: 'mcp:tools',
        resource: 'http://localhost:3001/mcp',
        createdBy: 'cli',
        createdAt: clock,
        expiresAt: clock + 60_000,
        lastUsedAt: null,
        ...overrides,
      });

      it('finds a token by its hash until it expires, lists it per account, and never stores the token', async () => {
        const alice = await storage.accounts.add({ username: 'alice', password: 'pw' });
        const bob = await storage.accounts.add({ username: 'bob', password: 'pw' });
        const a = pat(alice.id);
        const b = pat(bob.id, { name: 'deploy', scope: 'mcp:tools mcp:admin' });
        await storage.personalAccessTokens.add(a, 'hash-a');
        await storage.personalAccessTokens.add(b, 'hash-b');
        const other = await open();
        expect(await other.personalAccessTokens.findByHash('hash-a')).toEqual(a);
        expect(await other.personalAccessTokens.findByHash('nope')).toBeUndefined();
        expect(await other.personalAccessTokens.list(alice.id)).toEqual([a]);
        expect((await other.personalAccessTokens.list()).map((t) => t.name).sort()).toEqual(['ci', 'deploy']);
        clock += 60_000;
        expect(await storage.personalAccessTokens.findByHash('hash-a')).toBeUndefined();
        expect(await storage.personalAccessTokens.list()).toEqual([]);
        expect(await storage.models.sweepExpired()).toBe(2);
      });

      it('refuses a second live token of the same name for one account, but not for another or once the first expired', async () => {
        const alice = await storage.accounts.add({ username: 'alice', password: 'pw' });
        const bob = await storage.accounts.add({ username: 'bob', password: 'pw' });
        await storage.personalAccessTokens.add(pat(alice.id), 'h1');
        await expect(storage.personalAccessTokens.add(pat(alice.id), 'h2')).rejects.toBeInstanceOf(PersonalAccessTokenExistsError);
        await storage.personalAccessTokens.add(pat(bob.id), 'h3');
        clock += 60_000;
        const again = pat(alice.id);
        await storage.personalAccessTokens.add(again, 'h4');
        expect(await storage.personalAccessTokens.findByHash('h4')).toEqual(again);
        expect(await storage.personalAccessTokens.findByHash('h1')).toBeUndefined();
      });

      it('removes a token by account and name, returning it; an unknown one returns undefined', async () => {
        const alice = await storage.accounts.add({ username: 'alice', password: 'pw' });
        const a = pat(alice.id);
        await storage.personalAccessTokens.add(a, 'h1');
        expect(await storage.personalAccessTokens.remove(alice.id, 'nope')).toBeUndefined();
        expect(await storage.personalAccessTokens.remove(alice.id, 'ci')).toEqual(a);
        expect(await storage.personalAccessTokens.findByHash('h1')).toBeUndefined();
        expect(await storage.personalAccessTokens.remove(alice.id, 'ci')).toBeUndefined();
      });

      it('records last use at most once per interval', async () => {
        const alice = await storage.accounts.add({ username: 'alice', password: 'pw' });
        await storage.personalAccessTokens.add(pat(alice.id, { expiresAt: START + 3_600_000 }), 'h1');
        const lastUsed = async () => (await storage.personalAccessTokens.findByHash('h1'))!.lastUsedAt;
        await storage.personalAccessTokens.touch((await storage.personalAccessTokens.findByHash('h1'))!.id, 60_000);
        expect(await lastUsed()).toBe(START);
        clock += 30_000;
        await storage.personalAccessTokens.touch((await storage.personalAccessTokens.findByHash('h1'))!.id, 60_000);
        expect(await lastUsed()).toBe(START);
        clock += 30_000;
        await storage.personalAccessTokens.touch((await storage.personalAccessTokens.findByHash('h1'))!.id, 60_000);
        expect(await lastUsed()).toBe(START + 60_000);
      });

      it('removing an account removes its tokens', async () => {
        const alice = await storage.accounts.add({ username: 'alice', password: 'pw' });
        await storage.personalAccessTokens.add(pat(alice.id), 'h1');
        await storage.accounts.remove('alice');
        expect(await storage.personalAccessTokens.findByHash('h1')).toBeUndefined();
      });
    });

    describe('signing-key rows', () => {
      const row = (kid: string, state = 'active') => ({
        kid,
        alg: 'ES256',
        state,
        createdAt: '2030-01-01T00:00:00.000Z',
        activatedAt: state === 'active' ? '2030-01-01T00:00:00.000Z' : null,
        retiringSince: null,
        removeAfter: null,
        sealedJwk: `sealed-${kid}`,
      });

      it('starts at generation 0 with no rows, and replace swaps every row and the generation at once', async () => {
        expect(await storage.signingKeys.read()).toEqual({ generation: 0, rows: [] });
        expect(await storage.signingKeys.replace(0, 1, [row('a'), row('b', 'next')])).toBe(true);
        expect(await storage.signingKeys.generation()).toBe(1);
        expect(await storage.signingKeys.replace(1, 2, [row('b'), row('c', 'next')])).toBe(true);
        const { generation, rows } = await storage.signingKeys.read();
        expect(generation).toBe(2);
        expect(rows.map((r) => r.kid).sort()).toEqual(['b', 'c']);
        expect(rows.find((r) => r.kid === 'c')).toEqual(row('c', 'next'));
      });

      it('refuses a replace based on a stale generation (compare-and-set), and one connection sees what another wrote', async () => {
        const other = await open();
        expect(await storage.signingKeys.replace(0, 1, [row('a')])).toBe(true);
        expect(await other.signingKeys.replace(0, 1, [row('z')])).toBe(false);
        expect((await other.signingKeys.read()).rows.map((r) => r.kid)).toEqual(['a']);
        // Two writers from the same generation: exactly one wins.
        const results = await Promise.all([storage.signingKeys.replace(1, 2, [row('x')]), other.signingKeys.replace(1, 2, [row('y')])]);
        expect(results.filter(Boolean)).toHaveLength(1);
        expect((await storage.signingKeys.read()).rows).toHaveLength(1);
      });

      it('stores the sealed cookie keys once (the first writer wins) unless told to replace them', async () => {
        const other = await open();
        expect(await storage.signingKeys.cookieKeys()).toBeUndefined();
        expect(await storage.signingKeys.putCookieKeys('first', { replace: false })).toBe(true);
        expect(await other.signingKeys.putCookieKeys('second', { replace: false })).toBe(false);
        expect(await other.signingKeys.cookieKeys()).toBe('first');
        expect(await other.signingKeys.putCookieKeys('third', { replace: true })).toBe(true);
        expect(await storage.signingKeys.cookieKeys()).toBe('third');
      });
    });

    describe('token vault', () => {
      const keys: EncryptionKeys = { current: new Uint8Array(randomBytes(32)), previous: [] };
      const tokens = { accessToken: 'upstream-at-123', refreshToken: 'upstream-rt-456', expiresAt: 1_900_000_000, scope: 'read:user' };

      it('keeps tokens per (account, upstream), sealed: the row never holds them in clear, and they open again', async () => {
        const alice = await storage.accounts.add({ username: 'alice', password: 'pw' });
        const vault = tokenVault(storage.vault, keys);
        expect(await vault.load(alice.id, 'github')).toBeUndefined();
        clock = START + 7;
        await vault.save(alice.id, 'github', tokens);
        const row = await storage.vault.get(alice.id, 'github');
        expect(row).toMatchObject({ version: 1, updatedAt: START + 7 });
        expect(row!.sealed).not.toContain('upstream-at-123');
        expect(row!.sealed).not.toContain('upstream-rt-456');
        expect(await vault.load(alice.id, 'github')).toEqual({ tokens, version: 1 });
        // Another upstream of the same account is another row.
        expect(await vault.load(alice.id, 'google')).toBeUndefined();
        // A reopened store (a restart) reads the same value.
        const reopened = await open();
        expect(await tokenVault(reopened.vault, keys).load(alice.id, 'github')).toEqual({ tokens, version: 1 });
      });

      it('refuses a sealed value copied into another account’s row, and one sealed with an unknown key', async () => {
        const alice = await storage.accounts.add({ username: 'alice', password: 'pw' });
        const bob = await storage.accounts.add({ username: 'bob', password: 'pw' });
        await tokenVault(storage.vault, keys).save(alice.id, 'github', tokens);
        const sealed = (await storage.vault.get(alice.id, 'github'))!.sealed;
        await storage.vault.put(bob.id, 'github', sealed);
        await expect(tokenVault(storage.vault, keys).load(bob.id, 'github')).rejects.toThrow(SealedSecretError);
        const otherKey: EncryptionKeys = { current: new Uint8Array(randomBytes(32)), previous: [] };
        await expect(tokenVault(storage.vault, otherKey).load(alice.id, 'github')).rejects.toThrow(SealedSecretError);
        // Rotation: the old key as a previous one still opens it.
        expect(await tokenVault(storage.vault, { current: otherKey.current, previous: [keys.current] }).load(alice.id, 'github')).toEqual({
          tokens,
          version: 1,
        });
      });

      it('replaces only over the version it read: of two refreshes, one lands', async () => {
        const alice = await storage.accounts.add({ username: 'alice', password: 'pw' });
        const vault = tokenVault(storage.vault, keys);
        await vault.save(alice.id, 'github', tokens);
        const first = { ...tokens, accessToken: 'first' };
        const second = { ...tokens, accessToken: 'second' };
        expect(await vault.update(alice.id, 'github', 1, first)).toBe(true);
        expect(await vault.update(alice.id, 'github', 1, second)).toBe(false);
        expect(await vault.load(alice.id, 'github')).toEqual({ tokens: first, version: 2 });
        // A new sign-in replaces whatever is there.
        await vault.save(alice.id, 'github', tokens);
        expect(await vault.load(alice.id, 'github')).toEqual({ tokens, version: 3 });
        expect(await vault.update(alice.id, 'nowhere', 1, first)).toBe(false);
      });

      it('removes a row, and removing the account removes all of its rows', async () => {
        const alice = await storage.accounts.add({ username: 'alice', password: 'pw' });
        const vault = tokenVault(storage.vault, keys);
        await vault.save(alice.id, 'github', tokens);
        await vault.save(alice.id, 'google', tokens);
        expect(await vault.remove(alice.id, 'github')).toBe(true);
        expect(await vault.remove(alice.id, 'github')).toBe(false);
        expect(await storage.vault.get(alice.id, 'github')).toBeUndefined();
        expect(await storage.accounts.remove('alice')).toBe(true);
        expect(await storage.vault.get(alice.id, 'google')).toBeUndefined();
      });
    });
  });
}
