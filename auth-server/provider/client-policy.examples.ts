/** Type-checked examples for client-policy.ts (its JSDoc shows these regions). */
import type { Configuration } from 'oidc-provider';
import { clientPolicy } from './client-policy.ts';

export function clientPolicyExample() {
  //#region clientPolicy
  const configuration: Configuration = {
    extraClientMetadata: clientPolicy(['mcp:tools', 'mcp:admin'], { registrationNeedsToken: false }),
  };
  //#endregion clientPolicy
}
