/** Type-checked examples for is-main.ts (its JSDoc shows these regions). */
import { isMain } from './is-main.ts';

export async function isMainExample(main: () => Promise<void>) {
  //#region isMain
  if (isMain(import.meta.url)) await main();
  //#endregion isMain
}
