/** Type-checked examples for metadata-caching.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import { metadataCaching } from './metadata-caching.ts';

export function metadataCachingExample(app: Koa) {
  //#region metadataCaching
  app.use(metadataCaching());
  //#endregion metadataCaching
}
