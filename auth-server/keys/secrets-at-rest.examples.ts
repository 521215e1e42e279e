/** Type-checked examples for secrets-at-rest.ts (its JSDoc shows these regions). */
import { loadEncryptionKeys, openSecret, sealSecret, type EncryptionKeys } from './secrets-at-rest.ts';

export async function loadEncryptionKeysExample() {
  //#region loadEncryptionKeys
  const keys = await loadEncryptionKeys({ key: process.env.AUTH_ENCRYPTION_KEY, keysDir: './keys', production: false });
  //#endregion loadEncryptionKeys
}

export async function sealSecretExample(keys: EncryptionKeys, accountId: string, tokens: object) {
  //#region sealSecret
  const sealed = await sealSecret(keys, JSON.stringify(tokens), `vault:${accountId}:github`);
  const tokensAgain = JSON.parse(await openSecret(keys, sealed, `vault:${accountId}:github`));
  //#endregion sealSecret
}
