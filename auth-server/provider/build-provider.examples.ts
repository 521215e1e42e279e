/** Type-checked examples for build-provider.ts (its JSDoc shows these regions). */
import type { SigningJwk } from '../keys/key-store.ts';
import { buildProvider, type ProviderBuildDeps } from './build-provider.ts';

export function buildProviderExample(deps: ProviderBuildDeps, jwks: SigningJwk[]) {
  //#region buildProvider
  const provider = buildProvider(deps, { keys: jwks });
  //#endregion buildProvider
}
