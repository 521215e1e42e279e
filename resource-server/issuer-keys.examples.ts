/** Type-checked examples for issuer-keys.ts (its JSDoc shows these regions). */
import { jwtVerify } from 'jose';
import { createIssuerKeys } from './issuer-keys.ts';

export async function createIssuerKeysExample(issuer: string, token: string) {
  //#region createIssuerKeys
  const keys = createIssuerKeys({ issuer, timeoutMs: 500, cooldownMs: 5_000 });
  await jwtVerify(token, keys, { issuer });
  //#endregion createIssuerKeys
}
