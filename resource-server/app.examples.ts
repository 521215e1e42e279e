/** Type-checked examples for app.ts (its JSDoc shows these regions). */
import { listen } from '../common/http-server.ts';
import { createResourceServer } from './app.ts';
import { loadConfig } from './config.ts';

export async function createResourceServerExample() {
  //#region createResourceServer
  const config = loadConfig();
  const { app, close } = createResourceServer(config);
  const server = await listen(app, config.port, config.host);
  // on shutdown: stop accepting, then end the sessions
  await server.close();
  await close();
  //#endregion createResourceServer
}
