import { ConfigError } from '../../common/config-error.ts';
import type { AuthServerConfig } from '../config.ts';
import { ID_TOKEN_TTL } from '../provider/configuration.ts';
import type { Storage } from '../storage/store.ts';
import { loadEncryptionKeys, EncryptionKeyError } from './secrets-at-rest.ts';
import {
  assertKeySet,
  createKeySet,
  rotateKeySet,
  upgradeLegacyKeys,
  type RotationPolicy,
  type RotationResult,
  type SigningKeySet,
  type SigningKeyState,
} from './signing-key-set.ts';
import { databaseKeyStore, fileKeyStore, SigningKeyStoreError, type SigningKeyStore } from './signing-key-store.ts';

/**
 * What the auth server, `npm run keys` and the admin console share to work on the signing keys:
 * the store, the rotation policy taken from the configuration, and the clock (injected in tests).
 */
export interface SigningKeys {
  store: SigningKeyStore;
  policy: RotationPolicy;
  now: () => Date;
  /** Says why a first start must not make a new key set here (keys waiting to be migrated), if so. */
  refuseToCreate?: () => Promise<string | undefined>;
}

/** Room for clocks that disagree between the auth server and resource servers. */
const CLOCK_TOLERANCE_MS = 60_000;

/**
 * The rotation policy the configuration implies. A retiring key stays published for the longest
 * lifetime of anything it can have signed: access tokens (AUTH_ACCESS_TOKEN_TTL and every
 * resource's own TTL), ID tokens, ID-JAGs for token exchange; plus one poll interval (an instance
 * that has not yet seen the rotation keeps signing with it that long) and clock tolerance.
 */
export function rotationPolicy(config: AuthServerConfig): RotationPolicy {
  const lifetimes = [ID_TOKEN_TTL, ...config.resources.map((r) => r.accessTokenTtl), ...config.idJagTargets.map((t) => t.lifetime)];
  return {
    retireAfterMs: Math.max(...lifetimes) * 1000 + config.signingKeys.pollMs + CLOCK_TOLERANCE_MS,
    minNextAgeMs: config.signingKeys.minNextAgeMs,
  };
}

/**
 * The store AUTH_KEY_STORE names. The database store needs the at-rest key (AUTH_ENCRYPTION_KEY);
 * it refuses to start empty while KEYS_DIR still holds keys, which would silently swap every
 * signing key: those are moved with `npm run keys -- migrate --to database`.
 *
 * ```ts source="./signing-keys.examples.ts#openSigningKeys"
 * const signingKeys = await openSigningKeys(config, storage);
 * const set = await loadSigningKeys(signingKeys);
 * ```
 */
export async function openSigningKeys(
  config: AuthServerConfig,
  storage: Pick<Storage, 'signingKeys'> | undefined,
  now: () => Date = () => new Date(),
): Promise<SigningKeys> {
  const policy = rotationPolicy(config);
  if (config.signingKeys.store === 'file') return { store: fileKeyStore(config.keysDir), policy, now };
  if (!storage) throw new Error('AUTH_KEY_STORE=database needs the database open');
  const encryption = await loadEncryptionKeys({ ...config.encryption, keysDir: config.keysDir, production: config.production }).catch(
    (error: unknown) => {
      if (error instanceof EncryptionKeyError) throw new ConfigError([`AUTH_KEY_STORE=database: ${error.message}`]);
      throw error;
    },
  );
  const file = fileKeyStore(config.keysDir);
  const refuseToCreate = async () => {
    const stored = await file.read().catch(() => ({ empty: true as const }));
    if ('empty' in stored) return undefined;
    return (
      `AUTH_KEY_STORE=database, but the database holds no signing keys while ${file.description} does: ` +
      'move them with `npm run keys -- migrate --to database` (resource servers trust those keys)'
    );
  };
  return { store: databaseKeyStore(storage.signingKeys, encryption), policy, now, refuseToCreate };
}

/**
 * The key set, made on first start (one active and one next key per algorithm) and upgraded in
 * place from the list format of before key states. Several instances starting at once agree on
 * one set: the write is a compare-and-set, and the losers read what the winner wrote.
 */
export async function loadSigningKeys(keys: SigningKeys): Promise<SigningKeySet> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const stored = await readChecked(keys.store);
    if ('set' in stored) return stored.set;
    const refused = 'empty' in stored ? (stored.migratedAway ?? (await keys.refuseToCreate?.())) : undefined;
    if (refused) throw new SigningKeyStoreError(refused);
    const set = 'legacy' in stored ? await upgradeLegacyKeys(stored.legacy, keys.policy, keys.now()) : await createKeySet(keys.now());
    if (await keys.store.write(0, set)) return set;
  }
  throw new SigningKeyStoreError(`${keys.store.description}: the key set keeps changing under us`);
}

async function readChecked(store: SigningKeyStore) {
  const stored = await store.read();
  if ('set' in stored) assertKeySet(stored.set, store.description);
  return stored;
}

/** Who asked for a rotation, for the log and the audit trail: `cli:<user>`, `console:<username>`. */
export type Actor = string;

/**
 * Rotates every algorithm at once (signing-key-set.ts rotateKeySet): the next keys sign from now
 * on, on every instance within AUTH_KEY_POLL_SECONDS, without a restart. Refuses while the next
 * keys are younger than AUTH_KEY_MIN_NEXT_AGE, unless `force`.
 *
 * ```ts source="./signing-keys.examples.ts#rotateSigningKeys"
 * const { activated, retired } = await rotateSigningKeys(signingKeys, { actor: 'console:alice' });
 * ```
 */
export async function rotateSigningKeys(keys: SigningKeys, options: { actor: Actor; force?: boolean }): Promise<RotationResult & { actor: Actor }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await loadSigningKeys(keys);
    const result = await rotateKeySet(current, keys.policy, keys.now(), { force: options.force });
    if (await keys.store.write(current.generation, result.set)) return { ...result, actor: options.actor };
  }
  throw new SigningKeyStoreError(`${keys.store.description}: another rotation keeps winning; try again`);
}

/** One signing key as `npm run keys -- list` and the console show it (public parts only). */
export interface ListedSigningKey {
  kid: string;
  alg: string;
  /** What it signs: access tokens (ES256) or ID tokens (RS256). */
  signs: string;
  /** `expired`: a retiring key past removeAfter: no longer published, dropped at the next write. */
  state: SigningKeyState | 'expired';
  createdAt: string;
  activatedAt: string | undefined;
  retiringSince: string | undefined;
  /** When the state ends: retiring → removeAfter; next → the earliest a rotation may activate it. */
  until: string | undefined;
  /** In the JWKS resource servers fetch. */
  published: boolean;
}

const SIGNS: Record<string, string> = { ES256: 'access tokens', RS256: 'ID tokens' };
const STATE_ORDER = { next: 0, active: 1, retiring: 2, expired: 3 };

/**
 * The key set as it is stored: what every instance signs with within AUTH_KEY_POLL_SECONDS.
 *
 * ```ts source="./signing-keys.examples.ts#listSigningKeys"
 * for (const key of await listSigningKeys(signingKeys)) console.log(key.kid, key.state, key.until);
 * ```
 */
export async function listSigningKeys(keys: SigningKeys): Promise<ListedSigningKey[]> {
  const set = await loadSigningKeys(keys);
  const now = keys.now().getTime();
  const listed = set.keys.map((key): ListedSigningKey => {
    const expired = key.state === 'retiring' && key.removeAfter !== undefined && Date.parse(key.removeAfter) <= now;
    return {
      kid: key.jwk.kid,
      alg: key.jwk.alg,
      signs: SIGNS[key.jwk.alg] ?? 'signing',
      state: expired ? 'expired' : key.state,
      createdAt: key.createdAt,
      activatedAt: key.activatedAt,
      retiringSince: key.retiringSince,
      until:
        key.state === 'retiring'
          ? key.removeAfter
          : key.state === 'next'
            ? new Date(Date.parse(key.createdAt) + keys.policy.minNextAgeMs).toISOString()
            : undefined,
      published: !expired,
    };
  });
  return listed.sort((a, b) => a.alg.localeCompare(b.alg) || STATE_ORDER[a.state] - STATE_ORDER[b.state] || b.createdAt.localeCompare(a.createdAt));
}

/**
 * Copies the key set (and the cookie keys) from one store to another (`npm run keys -- migrate`): file → database for
 * scale-out, database → file back. Refuses when the target already holds keys (it would replace
 * keys resource servers trust). The source is then marked migrated (the file renamed, the rows
 * deleted: signing-key-store.ts markMigrated), so a server still pointed at it refuses to start
 * rather than signing with a copy that no longer rotates. Restart the instances with the new
 * AUTH_KEY_STORE: a running instance keeps the keys it has when its store empties.
 */
export async function migrateSigningKeys(
  from: SigningKeys,
  to: Pick<SigningKeys, 'store'>,
): Promise<{ kids: string[]; generation: number }> {
  if ('empty' in (await from.store.read())) throw new SigningKeyStoreError(`${from.store.description} holds no signing keys to migrate`);
  const set = await loadSigningKeys(from);
  if (!('empty' in (await to.store.read()))) {
    throw new SigningKeyStoreError(`${to.store.description} already holds signing keys; nothing was copied`);
  }
  const copy = { generation: set.generation + 1, keys: set.keys };
  if (!(await to.store.write(await to.store.generation(), copy))) {
    throw new SigningKeyStoreError(`${to.store.description} changed during the copy; nothing was copied`);
  }
  await to.store.writeCookieKeys(await from.store.loadCookieKeys());
  await from.store.markMigrated();
  return { kids: set.keys.map((k) => k.jwk.kid), generation: copy.generation };
}
