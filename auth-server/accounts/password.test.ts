import { createHook } from 'node:async_hooks';
import { scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidAccountError } from '../storage/store.ts';
import { hashPassword, MAX_CONCURRENT_DERIVATIONS, verifyPassword } from './password.ts';

describe('hashPassword', () => {
  it('produces a self-describing scrypt hash with a 16-byte salt', async () => {
    const stored = await hashPassword('correct horse');
    expect(stored).toMatch(/^scrypt\$N=16384,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  });

  it('salts every hash differently', async () => {
    expect(await hashPassword('same')).not.toBe(await hashPassword('same'));
  });

  it('refuses an empty password and one over 1024 characters', async () => {
    await expect(hashPassword('')).rejects.toBeInstanceOf(InvalidAccountError);
    await expect(hashPassword('x'.repeat(1025))).rejects.toThrow(/at most 1024/);
    await expect(hashPassword('x'.repeat(1024))).resolves.toMatch(/^scrypt\$/);
  });
});

describe('verifyPassword', () => {
  it('accepts the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('correct horse');
    expect(await verifyPassword('correct horse', stored)).toBe(true);
    expect(await verifyPassword('correct horsE', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
    expect(await verifyPassword('x'.repeat(5000), stored)).toBe(false);
  });

  it('treats canonically equal Unicode spellings as the same password', async () => {
    const stored = await hashPassword('caf\u00e9');
    expect(await verifyPassword('cafe\u0301', stored)).toBe(true);
  });

  it('refuses, without throwing, a tampered or malformed hash', async () => {
    const stored = await hashPassword('pw');
    const parts = stored.split('$');
    const hash = parts[3]!;
    const flipped = [...parts.slice(0, 3), (hash[0] === 'A' ? 'B' : 'A') + hash.slice(1)].join('$');
    expect(await verifyPassword('pw', flipped)).toBe(false);
    expect(await verifyPassword('pw', stored.replace('N=16384', 'N=1073741824'))).toBe(false);
    expect(await verifyPassword('pw', stored.replace('N=16384', 'N=16385'))).toBe(false);
    expect(await verifyPassword('pw', stored.replace('scrypt$', 'bcrypt$'))).toBe(false);
    expect(await verifyPassword('pw', '')).toBe(false);
  });

  it('reads the cost from the stored hash, so raised parameters keep working', async () => {
    const salt = Buffer.from('0123456789abcdef');
    const hash = scryptSync('pw', salt, 32, { N: 32_768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    const stored = `scrypt$N=32768,r=8,p=1$${salt.toString('base64url')}$${hash.toString('base64url')}`;
    expect(await verifyPassword('pw', stored)).toBe(true);
  });

  it('says false for an unknown user (undefined hash) only after a hash’s worth of work', async () => {
    const stored = await hashPassword('pw');
    await verifyPassword('warm-up', undefined);
    const time = async (run: () => Promise<boolean>) => {
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const start = performance.now();
        expect(await run()).toBe(false);
        best = Math.min(best, performance.now() - start);
      }
      return best;
    };
    const known = await time(() => verifyPassword('wrong', stored));
    const unknown = await time(() => verifyPassword('wrong', undefined));
    // Loose on purpose (shared CPUs): a shortcut would be ~1000× faster, not 4×.
    expect(unknown).toBeGreaterThan(known / 4);
  });
});

describe('password hashing under a burst of logins', () => {
  it('hands node at most MAX_CONCURRENT_DERIVATIONS scrypt jobs at once and answers every one', async () => {
    const stored = await hashPassword('pw');
    // Node's own scrypt jobs (async resources of type SCRYPTREQUEST), from creation to callback.
    const jobs = new Set<number>();
    let most = 0;
    const hook = createHook({
      init(id, type) {
        if (type !== 'SCRYPTREQUEST') return;
        jobs.add(id);
        most = Math.max(most, jobs.size);
      },
      before(id) {
        jobs.delete(id);
      },
    }).enable();
    const logins = MAX_CONCURRENT_DERIVATIONS + 3;
    try {
      const answers = await Promise.all(
        Array.from({ length: logins }, (_, i) => verifyPassword(i % 2 === 0 ? 'pw' : 'wrong', i === 1 ? undefined : stored)),
      );
      expect(answers).toEqual(Array.from({ length: logins }, (_, i) => i % 2 === 0));
    } finally {
      hook.disable();
    }
    expect(most).toBe(MAX_CONCURRENT_DERIVATIONS);
  });
});
