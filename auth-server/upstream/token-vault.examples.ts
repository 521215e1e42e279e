/** Type-checked examples for token-vault.ts (its JSDoc shows these regions). */
import type { AuthServerConfig } from '../config.ts';
import type { Storage } from '../storage/store.ts';
import { loadVaultKeys, tokenVault } from './token-vault.ts';

export async function tokenVaultExample(config: AuthServerConfig, storage: Storage, accountId: string) {
  //#region tokenVault
  const vault = tokenVault(storage.vault, (await loadVaultKeys(config))!);
  await vault.save(accountId, 'github', { accessToken: 'gho_…', refreshToken: 'ghr_…', expiresAt: 1_900_000_000, scope: 'read:user' });
  const kept = await vault.load(accountId, 'github'); // { tokens, version } or undefined
  //#endregion tokenVault
  return kept;
}

export async function loadVaultKeysExample(config: AuthServerConfig) {
  //#region loadVaultKeys
  const encryption = await loadVaultKeys(config); // undefined when no upstream has storeTokens
  //#endregion loadVaultKeys
  return encryption;
}
