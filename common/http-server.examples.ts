/** Type-checked examples for http-server.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import { PortInUseError, listen, portInUse } from './http-server.ts';

export async function namingExample(app: Koa, config: { port: number; host: string | undefined }) {
  //#region naming
  await listen(app, config.port, config.host).catch((e) => {
    throw e instanceof PortInUseError ? e.naming('AUTH_PORT') : e;
  });
  //#endregion naming
}

export async function listenExample(app: Koa) {
  //#region listen
  const { url, close } = await listen(app, 0, '127.0.0.1');
  //#endregion listen
  return { url, close };
}

export async function portInUseExample() {
  //#region portInUse
  if (await portInUse(3000, 'localhost')) console.error('port 3000 is taken');
  //#endregion portInUse
}
