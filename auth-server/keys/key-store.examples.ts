/** Type-checked examples for key-store.ts (its JSDoc shows these regions). */
import { loadOrCreateKeys, rotateKeys } from './key-store.ts';

export async function loadOrCreateKeysExample() {
  //#region loadOrCreateKeys
  const { jwks, cookieKeys } = await loadOrCreateKeys('./keys');
  //#endregion loadOrCreateKeys
}

export async function rotateKeysExample() {
  //#region rotateKeys
  const added = await rotateKeys('./keys'); // → the new kids
  //#endregion rotateKeys
}
