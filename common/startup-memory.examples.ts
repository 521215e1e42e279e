/** Type-checked examples for startup-memory.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import { listen } from './http-server.ts';
import { releaseStartupMemory } from './startup-memory.ts';

export async function releaseStartupMemoryExample(app: Koa, config: { port: number; host: string }) {
  //#region releaseStartupMemory
  const server = await listen(app, config.port, config.host);
  releaseStartupMemory();
  //#endregion releaseStartupMemory
  return server;
}
