/** Type-checked examples for client-secret-hash.ts (its JSDoc shows these regions). */
import type Provider from 'oidc-provider';
import { compareHashedClientSecrets } from './client-secret-hash.ts';

export function compareHashedClientSecretsExample(provider: Provider) {
  //#region compareHashedClientSecrets
  compareHashedClientSecrets(provider);
  //#endregion compareHashedClientSecrets
}
