/** Type-checked examples for capped-fetch.ts (its JSDoc shows these regions). */
import { cappedFetch } from './capped-fetch.ts';

export function cappedFetchExample() {
  //#region cappedFetch
  const fetch = cappedFetch(globalThis.fetch, 64 * 1024);
  //#endregion cappedFetch
}
