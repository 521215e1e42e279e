/** Type-checked examples for key-store.ts (its JSDoc shows these regions). */
import { loadOrCreateCookieKeys } from './key-store.ts';

export async function loadOrCreateCookieKeysExample() {
  //#region loadOrCreateCookieKeys
  const cookieKeys = await loadOrCreateCookieKeys('./keys');
  //#endregion loadOrCreateCookieKeys
}
