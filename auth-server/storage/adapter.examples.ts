/** Type-checked examples for adapter.ts (its JSDoc shows these regions). */
import Provider from 'oidc-provider';
import { createAdapterFactory } from './adapter.ts';
import type { Storage } from './store.ts';

export function createAdapterFactoryExample(issuer: string, storage: Storage) {
  //#region createAdapterFactory
  const provider = new Provider(issuer, { adapter: createAdapterFactory(storage.models) });
  //#endregion createAdapterFactory
}
