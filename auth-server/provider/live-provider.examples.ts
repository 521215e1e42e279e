/** Type-checked examples for live-provider.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import { createLiveProvider, type LiveProviderOptions } from './live-provider.ts';

export function createLiveProviderExample(app: Koa, { keys, initial, build, logger }: LiveProviderOptions) {
  //#region createLiveProvider
  const live = createLiveProvider({ keys, initial, build, prefix: '', pollMs: 5_000, logger });
  app.use(live.middleware);
  //#endregion createLiveProvider
}
