/** Type-checked examples for app.ts (its JSDoc shows these regions). */
import { listen } from '../common/http-server.ts';
import { createAuthServer, type AuthServerDeps } from './app.ts';

export async function createAuthServerExample({ config, storage, keys, signingKeys, logger }: AuthServerDeps) {
  //#region createAuthServer
  const { app } = createAuthServer({ config, storage, keys, signingKeys, logger });
  await listen(app, config.port);
  //#endregion createAuthServer
}
