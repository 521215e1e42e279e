import { generateSigningKey, type SigningJwk } from './key-store.ts';

/**
 * The signing-key life cycle, as pure functions over a {@link SigningKeySet}; where the set is
 * stored is signing-key-store.ts's business.
 *
 * - `next`: published in the JWKS, never signs. It exists so that resource servers (and any cache
 *   in between) already hold it when it starts signing: a rotation never shows them an unknown kid.
 * - `active`: signs (exactly one per algorithm) and is published.
 * - `retiring`: no longer signs, still published until every token it can have signed has
 *   expired (`removeAfter`), then it is left out of the JWKS and dropped at the next write.
 */
export type SigningKeyState = 'next' | 'active' | 'retiring';

/** ES256 signs access tokens (and ID-JAGs), RS256 ID tokens. */
export const SIGNING_ALGS = ['ES256', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export interface SigningKeyRecord {
  jwk: SigningJwk;
  state: SigningKeyState;
  /** ISO timestamps. */
  createdAt: string;
  activatedAt?: string | undefined;
  retiringSince?: string | undefined;
  /** When a retiring key leaves the JWKS: retiringSince + {@link RotationPolicy.retireAfterMs}. */
  removeAfter?: string | undefined;
}

export interface SigningKeySet {
  /** Goes up by one on every change: instances compare it to know whether to reload. */
  generation: number;
  keys: SigningKeyRecord[];
}

export interface RotationPolicy {
  /**
   * How long a retiring key stays published: the longest lifetime of anything it can have signed
   * (access tokens, ID tokens, ID-JAGs), plus the key poll interval (an instance that has not
   * polled yet keeps signing with it for up to that long), plus clock tolerance.
   */
  retireAfterMs: number;
  /**
   * How long a next key must have been published before `rotate` may make it sign: every
   * instance must have polled it in, and every resource server / HTTP cache must have had the
   * chance to fetch a JWKS that holds it.
   */
  minNextAgeMs: number;
}

/** `rotate` came too soon after the previous one: the next key is not published widely enough. */
export class RotationTooSoonError extends Error {
  override name = 'RotationTooSoonError';
  readonly retryAfterMs: number;
  constructor(ageMs: number, minNextAgeMs: number) {
    const wait = Math.ceil((minNextAgeMs - ageMs) / 1000);
    super(
      `the next signing key was published ${Math.floor(ageMs / 1000)} s ago; it must be published for ` +
        `${Math.ceil(minNextAgeMs / 1000)} s (AUTH_KEY_MIN_NEXT_AGE) before it signs, so that every instance and ` +
        `resource server has it: rotate again in ${wait} s`,
    );
    this.retryAfterMs = minNextAgeMs - ageMs;
  }
}

/** The key set a first start makes: one active and one next key per algorithm. */
export async function createKeySet(now: Date): Promise<SigningKeySet> {
  const keys: SigningKeyRecord[] = [];
  for (const alg of SIGNING_ALGS) {
    keys.push({ jwk: await generateSigningKey(alg, now), state: 'active', createdAt: now.toISOString(), activatedAt: now.toISOString() });
    keys.push(await nextKey(alg, now));
  }
  return { generation: 1, keys };
}

async function nextKey(alg: SigningAlg, now: Date): Promise<SigningKeyRecord> {
  return { jwk: await generateSigningKey(alg, now), state: 'next', createdAt: now.toISOString() };
}

export interface RotationResult {
  set: SigningKeySet;
  /** Kids that sign from now on (were next). */
  activated: string[];
  /** Kids that stopped signing (were active). */
  retired: string[];
  /** Kids of the new next keys. */
  created: string[];
  /** Kids dropped because every token they signed has expired. */
  removed: string[];
}

/**
 * One rotation, for every algorithm at once: active → retiring, next → active, and a new next key.
 * Refuses ({@link RotationTooSoonError}) while a next key is younger than `minNextAgeMs`, unless
 * `force` (a compromised key must go now, whatever a stale cache costs).
 */
export async function rotateKeySet(
  set: SigningKeySet,
  policy: RotationPolicy,
  now: Date,
  options: { force?: boolean } = {},
): Promise<RotationResult> {
  const current = pruneKeySet(set, now);
  const result: RotationResult = { set: current.set, activated: [], retired: [], created: [], removed: current.removed };
  if (!options.force) {
    for (const key of current.set.keys.filter((k) => k.state === 'next')) {
      const age = now.getTime() - Date.parse(key.createdAt);
      if (age < policy.minNextAgeMs) throw new RotationTooSoonError(age, policy.minNextAgeMs);
    }
  }
  const keys: SigningKeyRecord[] = [];
  const at = now.toISOString();
  const removeAfter = new Date(now.getTime() + policy.retireAfterMs).toISOString();
  for (const alg of SIGNING_ALGS) {
    const own = current.set.keys.filter((k) => k.jwk.alg === alg);
    const next = own.find((k) => k.state === 'next');
    for (const key of own) {
      if (key.state === 'active') {
        keys.push({ ...key, state: 'retiring', retiringSince: at, removeAfter });
        result.retired.push(key.jwk.kid);
      } else if (key === next) {
        keys.push({ ...key, state: 'active', activatedAt: at });
        result.activated.push(key.jwk.kid);
      } else {
        keys.push(key);
      }
    }
    // A set without a next key (only a forced or hand-edited one) activates a fresh key at once.
    if (!next) {
      const fresh = await generateSigningKey(alg, now);
      keys.push({ jwk: fresh, state: 'active', createdAt: at, activatedAt: at });
      result.activated.push(fresh.kid);
    }
    const upcoming = await nextKey(alg, now);
    keys.push(upcoming);
    result.created.push(upcoming.jwk.kid);
  }
  result.set = { generation: set.generation + 1, keys };
  return result;
}

/** Drops retiring keys whose tokens have all expired. */
export function pruneKeySet(set: SigningKeySet, now: Date): { set: SigningKeySet; removed: string[] } {
  const removed = set.keys.filter((k) => expired(k, now)).map((k) => k.jwk.kid);
  if (!removed.length) return { set, removed };
  return { set: { generation: set.generation + 1, keys: set.keys.filter((k) => !expired(k, now)) }, removed };
}

function expired(key: SigningKeyRecord, now: Date): boolean {
  return key.state === 'retiring' && key.removeAfter !== undefined && Date.parse(key.removeAfter) <= now.getTime();
}

const ORDER: Record<SigningKeyState, number> = { active: 0, next: 1, retiring: 2 };

/**
 * The private JWKS for oidc-provider: every published key (next, active, unexpired retiring),
 * the active one first per algorithm, because oidc-provider signs with the first key that fits
 * the algorithm (helpers/keystore.js selectForSign keeps the given order among equals).
 */
export function providerJwks(set: SigningKeySet, now: Date): { keys: SigningJwk[] } {
  const live = set.keys.filter((k) => !expired(k, now));
  return { keys: [...live].sort((a, b) => ORDER[a.state] - ORDER[b.state]).map((k) => k.jwk) };
}

/** When the published JWKS next changes without a write (a retiring key expiring), if ever. */
export function nextExpiry(set: SigningKeySet, now: Date): number | undefined {
  const times = set.keys
    .filter((k) => k.state === 'retiring' && k.removeAfter && !expired(k, now))
    .map((k) => Date.parse(k.removeAfter!));
  return times.length ? Math.min(...times) : undefined;
}

/**
 * Checks a set read from a store: one active key per algorithm, known states. A set that fails
 * would sign with the wrong key or with none, so it is refused with a message naming the store.
 */
export function assertKeySet(set: SigningKeySet, where: string): void {
  for (const alg of SIGNING_ALGS) {
    const active = set.keys.filter((k) => k.jwk.alg === alg && k.state === 'active');
    if (active.length !== 1) throw new Error(`${where}: needs exactly one active ${alg} signing key, found ${active.length}`);
  }
  for (const key of set.keys) {
    if (!(key.state in ORDER)) throw new Error(`${where}: key ${key.jwk.kid} has unknown state "${String(key.state)}"`);
  }
}

/**
 * The key file before key states (a list, newest first per algorithm, the first one signing):
 * the first key per algorithm is active, the others retiring from `now`, so they stay published for
 * a full token lifetime; a next key is added per algorithm.
 */
export async function upgradeLegacyKeys(keys: SigningJwk[], policy: RotationPolicy, now: Date): Promise<SigningKeySet> {
  const at = now.toISOString();
  const removeAfter = new Date(now.getTime() + policy.retireAfterMs).toISOString();
  const records: SigningKeyRecord[] = [];
  for (const alg of SIGNING_ALGS) {
    keys
      .filter((k) => k.alg === alg)
      .forEach((jwk, i) =>
        records.push(
          i === 0
            ? { jwk, state: 'active', createdAt: at, activatedAt: at }
            : { jwk, state: 'retiring', createdAt: at, retiringSince: at, removeAfter },
        ),
      );
    records.push(await nextKey(alg, now));
  }
  return { generation: 1, keys: records };
}
