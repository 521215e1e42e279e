/** Type-checked examples for signing-key-store.ts (its JSDoc shows these regions). */
import type { Storage } from '../storage/store.ts';
import type { EncryptionKeys } from './secrets-at-rest.ts';
import { databaseKeyStore, fileKeyStore } from './signing-key-store.ts';

export async function fileKeyStoreExample() {
  //#region fileKeyStore
  const store = fileKeyStore('./keys');
  const stored = await store.read();
  //#endregion fileKeyStore
}

export async function databaseKeyStoreExample(storage: Storage, encryptionKeys: EncryptionKeys) {
  //#region databaseKeyStore
  const store = databaseKeyStore(storage.signingKeys, encryptionKeys);
  const generation = await store.generation();
  //#endregion databaseKeyStore
}
