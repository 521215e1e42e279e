/** Type-checked examples for tools-module.ts (its JSDoc shows these regions). */
import { loadToolsModule } from './tools-module.ts';

export async function loadToolsModuleExample() {
  //#region loadToolsModule
  const tools = await loadToolsModule('./my-tools.ts'); // → createResourceServer(config, { tools })
  //#endregion loadToolsModule
}
