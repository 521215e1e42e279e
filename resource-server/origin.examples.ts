/** Type-checked examples for origin.ts (its JSDoc shows these regions). */
import type { ResourceServerConfig } from './config.ts';
import { createOriginPolicy } from './origin.ts';

export function createOriginPolicyExample(config: ResourceServerConfig) {
  //#region createOriginPolicy
  const allowed = createOriginPolicy(config);
  allowed('http://localhost:6274'); // true in development
  //#endregion createOriginPolicy
}
