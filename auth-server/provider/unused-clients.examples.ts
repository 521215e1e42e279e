/** Type-checked examples for unused-clients.ts (its JSDoc shows these regions). */
import type Provider from 'oidc-provider';
import type { Storage } from '../storage/store.ts';
import { keepClientsThatGetTokens } from './unused-clients.ts';

export function keepClientsThatGetTokensExample(provider: Provider, storage: Storage) {
  //#region keepClientsThatGetTokens
  keepClientsThatGetTokens(provider, storage.models);
  //#endregion keepClientsThatGetTokens
}
