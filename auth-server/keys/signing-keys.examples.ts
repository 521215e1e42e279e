/** Type-checked examples for signing-keys.ts (its JSDoc shows these regions). */
import type { AuthServerConfig } from '../config.ts';
import type { Storage } from '../storage/store.ts';
import { listSigningKeys, loadSigningKeys, openSigningKeys, rotateSigningKeys, type SigningKeys } from './signing-keys.ts';

export async function openSigningKeysExample(config: AuthServerConfig, storage: Storage) {
  //#region openSigningKeys
  const signingKeys = await openSigningKeys(config, storage);
  const set = await loadSigningKeys(signingKeys);
  //#endregion openSigningKeys
}

export async function rotateSigningKeysExample(signingKeys: SigningKeys) {
  //#region rotateSigningKeys
  const { activated, retired } = await rotateSigningKeys(signingKeys, { actor: 'console:alice' });
  //#endregion rotateSigningKeys
}

export async function listSigningKeysExample(signingKeys: SigningKeys) {
  //#region listSigningKeys
  for (const key of await listSigningKeys(signingKeys)) console.log(key.kid, key.state, key.until);
  //#endregion listSigningKeys
}
