/** Type-checked examples for config.ts (its JSDoc shows these regions). */
import { loadConfig } from './config.ts';

export function loadConfigExample() {
  //#region loadConfig
  const config = loadConfig({ RS_PORT: '0', AUTH_ISSUER: 'http://127.0.0.1:4000' });
  //#endregion loadConfig
}
