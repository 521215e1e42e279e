/** Type-checked examples for upstream-config.ts (its JSDoc shows these regions). */
import { loadUpstreams } from './upstream-config.ts';

export function loadUpstreamsExample() {
  //#region loadUpstreams
  const { providers, problems } = loadUpstreams(process.env.AUTH_UPSTREAMS, process.env);
  //#endregion loadUpstreams
}
