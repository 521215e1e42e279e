/** Type-checked examples for id-jag-targets.ts (its JSDoc shows these regions). */
import { loadIdJagTargets } from './id-jag-targets.ts';

export function loadIdJagTargetsExample() {
  //#region loadIdJagTargets
  const { targets, problems } = loadIdJagTargets(process.env.AUTH_ID_JAG_TARGETS);
  //#endregion loadIdJagTargets
  return { targets, problems };
}
