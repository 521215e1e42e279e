/** Type-checked examples for config.ts (its JSDoc shows these regions). */
import { loadOrCreateCookieKeys } from './keys/key-store.ts';
import { openStorage } from './storage/open-storage.ts';
import { loadConfig, loadEncryptionSettings, loadKeysDir, loadStorageConfig } from './config.ts';
import { loadEncryptionKeys } from './keys/secrets-at-rest.ts';

export function loadConfigExample() {
  //#region loadConfig
  const config = loadConfig(process.env); // throws ConfigError listing every problem
  //#endregion loadConfig
}

export async function loadStorageConfigExample() {
  //#region loadStorageConfig
  const storage = await openStorage(loadStorageConfig(process.env));
  //#endregion loadStorageConfig
}

export async function loadKeysDirExample() {
  //#region loadKeysDir
  const cookieKeys = await loadOrCreateCookieKeys(loadKeysDir(process.env));
  //#endregion loadKeysDir
}

export async function loadEncryptionSettingsExample() {
  //#region loadEncryptionSettings
  const { encryption, production } = loadEncryptionSettings(process.env);
  const keys = await loadEncryptionKeys({ ...encryption, keysDir: loadKeysDir(process.env), production });
  //#endregion loadEncryptionSettings
}
