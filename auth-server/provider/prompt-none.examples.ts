/** Type-checked examples for prompt-none.ts (its JSDoc shows these regions). */
import type { Configuration } from 'oidc-provider';
import { promptNonePolicy } from './prompt-none.ts';

export function promptNonePolicyExample() {
  //#region promptNonePolicy
  const configuration: Configuration = {
    interactions: { policy: promptNonePolicy(), url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  };
  //#endregion promptNonePolicy
}
