/** Type-checked examples for tool-policy.ts (its JSDoc shows these regions). */
import { applyToolPolicy, readToolPolicy } from './tool-policy.ts';
import { demoTools } from './tools/index.ts';

export function applyToolPolicyExample() {
  //#region applyToolPolicy
  const registry = applyToolPolicy(demoTools, readToolPolicy('policy.json'));
  //#endregion applyToolPolicy
}
