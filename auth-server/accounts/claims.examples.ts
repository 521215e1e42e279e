/** Type-checked examples for claims.ts (its JSDoc shows these regions). */
import Provider from 'oidc-provider';
import type { Storage } from '../storage/store.ts';
import { findAccountFor } from './claims.ts';

export function findAccountForExample(issuer: string, storage: Storage) {
  //#region findAccountFor
  const provider = new Provider(issuer, { findAccount: findAccountFor(storage.accounts) });
  //#endregion findAccountFor
}
