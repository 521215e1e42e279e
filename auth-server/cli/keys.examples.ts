/** Type-checked examples for keys.ts (its JSDoc shows these regions). */
import { runKeysCli } from './keys.ts';

export async function runKeysCliExample() {
  //#region runKeysCli
  process.exitCode = await runKeysCli(['rotate'], process.env);
  //#endregion runKeysCli
}
