/** Type-checked examples for token-endpoint-policies.ts (its JSDoc shows these regions). */
import type { Configuration } from 'oidc-provider';
import { introspectionAllowed, revocationAllowed } from './token-endpoint-policies.ts';

export function introspectionAllowedExample() {
  //#region introspectionAllowed
  const configuration: Configuration = {
    features: { introspection: { enabled: true, allowedPolicy: introspectionAllowed } },
  };
  //#endregion introspectionAllowed
}

export function revocationAllowedExample() {
  //#region revocationAllowed
  const configuration: Configuration = {
    features: { revocation: { enabled: true, allowedPolicy: revocationAllowed } },
  };
  //#endregion revocationAllowed
}
