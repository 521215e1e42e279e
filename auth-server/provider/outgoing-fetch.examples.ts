/** Type-checked examples for outgoing-fetch.ts (its JSDoc shows these regions). */
import { outgoingFetch } from './outgoing-fetch.ts';

export function outgoingFetchExample(production: boolean) {
  //#region outgoingFetch
  const outgoing = outgoingFetch({ relaxForMetadataDocuments: !production });
  const configuration = { fetch: outgoing.fetch }; // part of oidc-provider's configuration
  //#endregion outgoingFetch
}
