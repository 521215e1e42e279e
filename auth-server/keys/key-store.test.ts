import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COOKIE_KEYS_FILE, JWKS_FILE, listKeys, loadOrCreateKeys, rotateKeys } from './key-store.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keys-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('key store', () => {
  it('generates an ES256 and an RS256 key and cookie keys once, in files with mode 0600', async () => {
    const first = await loadOrCreateKeys(dir);
    expect(first.jwks.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    for (const file of [JWKS_FILE, COOKIE_KEYS_FILE]) expect((await stat(join(dir, file))).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateKeys(dir)).toEqual(first);
  });

  it('gives every instance the same keys when several start at once on an empty folder', async () => {
    const all = await Promise.all(Array.from({ length: 6 }, () => loadOrCreateKeys(dir)));
    for (const keys of all) expect(keys).toEqual(all[0]);
    expect(await loadOrCreateKeys(dir)).toEqual(all[0]);
  });

  it('rotation puts new keys first and keeps three generations per algorithm', async () => {
    const { jwks } = await loadOrCreateKeys(dir);
    const original = jwks.keys.map((k) => k.kid);
    for (let i = 0; i < 3; i++) await rotateKeys(dir);
    const listed = await listKeys(dir);
    expect(listed.filter((k) => k.alg === 'ES256')).toHaveLength(3);
    expect(listed.filter((k) => k.newest).map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    for (const kid of original) expect(listed.map((k) => k.kid)).not.toContain(kid);
  });
});
