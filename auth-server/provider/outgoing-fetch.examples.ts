/** Type-checked examples for outgoing-fetch.ts (its JSDoc shows these regions). */
import type { Configuration } from 'oidc-provider';
import { outgoingFetch } from './outgoing-fetch.ts';

export function outgoingFetchExample(production: boolean) {
  //#region outgoingFetch
  const outgoing = outgoingFetch({ relaxForMetadataDocuments: !production });
  const configuration: Configuration = { fetch: outgoing.fetch };
  //#endregion outgoingFetch
}
