import type { AuthServerConfig } from '../config.ts';
import { loadEncryptionKeys, openSecret, sealSecret, type EncryptionKeys } from '../keys/secrets-at-rest.ts';
import type { VaultStore } from '../storage/store.ts';

/** What the vault keeps of an upstream's token response for one account. */
export interface UpstreamTokens {
  accessToken: string;
  refreshToken: string | undefined;
  /** Epoch seconds; undefined when the upstream gave no `expires_in` (GitHub's classic tokens). */
  expiresAt: number | undefined;
  scope: string | undefined;
}

/** The sealed value context: a value copied into another account's or upstream's row fails to open. */
export function vaultContext(accountId: string, upstreamId: string): string {
  return `vault:${accountId}:${upstreamId}`;
}

/**
 * The token vault: upstream tokens per (account, upstream id), sealed with AUTH_ENCRYPTION_KEY
 * (keys/secrets-at-rest.ts, JWE dir+A256GCM) bound to `vault:<account>:<upstream>`. The store
 * only ever holds the sealed text. Opening a value that was sealed for another row, with an
 * unknown key, or tampered with throws SealedSecretError.
 *
 * ```ts source="./token-vault.examples.ts#tokenVault"
 * const vault = tokenVault(storage.vault, (await loadVaultKeys(config))!);
 * await vault.save(accountId, 'github', { accessToken: 'gho_…', refreshToken: 'ghr_…', expiresAt: 1_900_000_000, scope: 'read:user' });
 * const kept = await vault.load(accountId, 'github'); // { tokens, version } or undefined
 * ```
 */
export function tokenVault(store: VaultStore, keys: EncryptionKeys) {
  const seal = (accountId: string, upstreamId: string, tokens: UpstreamTokens) =>
    sealSecret(keys, JSON.stringify(tokens), vaultContext(accountId, upstreamId));
  return {
    /** Keeps the tokens of a fresh sign-in (replacing older ones). */
    async save(accountId: string, upstreamId: string, tokens: UpstreamTokens): Promise<void> {
      await store.put(accountId, upstreamId, await seal(accountId, upstreamId, tokens));
    },
    /** The tokens and the row version they were read at; undefined when none are kept. */
    async load(accountId: string, upstreamId: string): Promise<{ tokens: UpstreamTokens; version: number } | undefined> {
      const row = await store.get(accountId, upstreamId);
      if (!row) return undefined;
      const tokens = JSON.parse(await openSecret(keys, row.sealed, vaultContext(accountId, upstreamId))) as UpstreamTokens;
      return { tokens, version: row.version };
    },
    /**
     * Writes refreshed tokens over the ones read at `version`; false when another refresh wrote
     * first (its tokens are then the current ones). Also re-seals with the current key, which is
     * how values move off a key being rotated out.
     */
    async update(accountId: string, upstreamId: string, version: number, tokens: UpstreamTokens): Promise<boolean> {
      return store.replace(accountId, upstreamId, version, await seal(accountId, upstreamId, tokens));
    },
    /** Forgets the tokens (the upstream revoked them, or the user signs in again without them). */
    async remove(accountId: string, upstreamId: string): Promise<boolean> {
      return store.remove(accountId, upstreamId);
    },
  };
}

export type TokenVault = ReturnType<typeof tokenVault>;

/**
 * The at-rest keys when some upstream keeps tokens (storeTokens), else undefined: a server without
 * the vault neither needs AUTH_ENCRYPTION_KEY nor writes a generated one. In production without
 * AUTH_ENCRYPTION_KEY this throws EncryptionKeyError, whose message names the setting.
 *
 * ```ts source="./token-vault.examples.ts#loadVaultKeys"
 * const encryption = await loadVaultKeys(config); // undefined when no upstream has storeTokens
 * ```
 */
export async function loadVaultKeys(
  config: Pick<AuthServerConfig, 'upstreams' | 'encryption' | 'keysDir' | 'production'>,
): Promise<EncryptionKeys | undefined> {
  if (!config.upstreams.some((upstream) => upstream.storeTokens)) return undefined;
  return loadEncryptionKeys({
    key: config.encryption.key,
    previous: config.encryption.previous,
    keysDir: config.keysDir,
    production: config.production,
  });
}
