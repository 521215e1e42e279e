/** Type-checked examples for adapter.ts (its JSDoc shows these regions). */
import Provider from 'oidc-provider';
import { createAdapterFactory, withRefreshContext } from './adapter.ts';
import type { Storage } from './store.ts';

export function createAdapterFactoryExample(issuer: string, storage: Storage) {
  //#region createAdapterFactory
  const provider = new Provider(issuer, { adapter: createAdapterFactory(storage.models) });
  //#endregion createAdapterFactory
}

export async function withRefreshContextExample(storage: Storage, refreshToken: string, clientId: string, next: () => Promise<void>) {
  //#region withRefreshContext
  await withRefreshContext(storage.models, refreshToken, clientId, next);
  //#endregion withRefreshContext
}
