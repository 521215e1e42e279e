import { describe, expect, it } from 'vitest';
import { generateSigningKey } from './key-store.ts';
import {
  assertKeySet,
  createKeySet,
  nextExpiry,
  providerJwks,
  pruneKeySet,
  rotateKeySet,
  RotationTooSoonError,
  upgradeLegacyKeys,
  type SigningKeySet,
} from './signing-key-set.ts';

const T0 = new Date('2030-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const policy = { retireAfterMs: 3_600_000, minNextAgeMs: 120_000 };
const kids = (set: SigningKeySet, alg: string, state: string) => set.keys.filter((k) => k.jwk.alg === alg && k.state === state).map((k) => k.jwk.kid);

describe('signing-key life cycle', () => {
  it('a first start makes one active and one next key per algorithm; the JWKS publishes both, the active one first', async () => {
    const set = await createKeySet(T0);
    for (const alg of ['ES256', 'RS256']) {
      expect(kids(set, alg, 'active')).toHaveLength(1);
      expect(kids(set, alg, 'next')).toHaveLength(1);
      // oidc-provider signs with the first key of the algorithm.
      expect(providerJwks(set, T0).keys.find((k) => k.alg === alg)!.kid).toBe(kids(set, alg, 'active')[0]);
    }
    expect(providerJwks(set, T0).keys).toHaveLength(4);
    expect(() => assertKeySet(set, 'test')).not.toThrow();
  });

  it('rotate: next → active, active → retiring (until now + the longest token lifetime), and a new next key', async () => {
    const set = await createKeySet(T0);
    const [active] = kids(set, 'ES256', 'active');
    const [next] = kids(set, 'ES256', 'next');
    const { set: rotated, activated, retired, created } = await rotateKeySet(set, policy, at(200));
    expect(rotated.generation).toBe(set.generation + 1);
    expect(activated).toContain(next);
    expect(retired).toContain(active);
    expect(kids(rotated, 'ES256', 'active')).toEqual([next]);
    expect(kids(rotated, 'ES256', 'retiring')).toEqual([active]);
    expect(kids(rotated, 'ES256', 'next')).toEqual([created[0]]);
    const retiring = rotated.keys.find((k) => k.jwk.kid === active)!;
    expect(retiring.retiringSince).toBe(at(200).toISOString());
    expect(retiring.removeAfter).toBe(at(200 + 3600).toISOString());
    // Published: the new active (first), the new next, the retiring one.
    expect(providerJwks(rotated, at(200)).keys.filter((k) => k.alg === 'ES256').map((k) => k.kid)).toEqual([next, created[0], active]);
  });

  it('refuses to activate a next key published for less than minNextAgeMs, unless forced', async () => {
    const set = await createKeySet(T0);
    await expect(rotateKeySet(set, policy, at(119))).rejects.toThrow(RotationTooSoonError);
    await expect(rotateKeySet(set, policy, at(119))).rejects.toThrow(/published 119 s ago; .* 120 s .* rotate again in 1 s/);
    const forced = await rotateKeySet(set, policy, at(1), { force: true });
    expect(kids(forced.set, 'ES256', 'active')).toEqual(kids(set, 'ES256', 'next'));
  });

  it('a retiring key leaves the JWKS once every token it signed has expired, and is dropped at the next write', async () => {
    const set = await createKeySet(T0);
    const [old] = kids(set, 'ES256', 'active');
    const { set: rotated } = await rotateKeySet(set, policy, at(200));
    expect(nextExpiry(rotated, at(200))).toBe(at(200 + 3600).getTime());
    expect(providerJwks(rotated, at(200 + 3599)).keys.map((k) => k.kid)).toContain(old);
    expect(providerJwks(rotated, at(200 + 3600)).keys.map((k) => k.kid)).not.toContain(old);
    expect(nextExpiry(rotated, at(200 + 3600))).toBeUndefined();
    expect(pruneKeySet(rotated, at(200 + 3599)).removed).toEqual([]);
    const pruned = pruneKeySet(rotated, at(200 + 3600));
    expect(pruned.removed).toEqual(expect.arrayContaining([old]));
    expect(pruned.set.keys.map((k) => k.jwk.kid)).not.toContain(old);
    // A rotation prunes too, and says so.
    const again = await rotateKeySet(rotated, policy, at(200 + 4000));
    expect(again.removed).toEqual(expect.arrayContaining([old]));
  });

  it('the key list of before key states loads: first key per algorithm active, the others retiring, plus a next key', async () => {
    const legacy = [
      await generateSigningKey('ES256', T0),
      await generateSigningKey('RS256', T0),
      await generateSigningKey('ES256', T0),
      await generateSigningKey('RS256', T0),
    ];
    const set = await upgradeLegacyKeys(legacy, policy, T0);
    expect(kids(set, 'ES256', 'active')).toEqual([legacy[0]!.kid]);
    expect(kids(set, 'ES256', 'retiring')).toEqual([legacy[2]!.kid]);
    expect(kids(set, 'RS256', 'active')).toEqual([legacy[1]!.kid]);
    expect(kids(set, 'ES256', 'next')).toHaveLength(1);
    // Still published for a full token lifetime from the upgrade.
    expect(providerJwks(set, at(3599)).keys).toHaveLength(6);
    // The key that signed before the upgrade signs after it.
    expect(providerJwks(set, T0).keys.find((k) => k.alg === 'ES256')!.kid).toBe(legacy[0]!.kid);
  });

  it('refuses a set without exactly one active key per algorithm', async () => {
    const set = await createKeySet(T0);
    const noActive = { ...set, keys: set.keys.filter((k) => !(k.jwk.alg === 'RS256' && k.state === 'active')) };
    expect(() => assertKeySet(noActive, 'the store')).toThrow('the store: needs exactly one active RS256 signing key, found 0');
    const twoActive = { ...set, keys: set.keys.map((k) => (k.jwk.alg === 'ES256' ? { ...k, state: 'active' as const } : k)) };
    expect(() => assertKeySet(twoActive, 'the store')).toThrow(/found 2/);
  });
});
