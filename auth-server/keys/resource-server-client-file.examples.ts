/** Type-checked examples for resource-server-client-file.ts (its JSDoc shows these regions). */
import { loadOrCreateResourceServerCredentials } from './resource-server-client-file.ts';

export async function loadOrCreateResourceServerCredentialsExample() {
  //#region loadOrCreateResourceServerCredentials
  const { client_id, client_secret } = await loadOrCreateResourceServerCredentials('./keys');
  //#endregion loadOrCreateResourceServerCredentials
}
