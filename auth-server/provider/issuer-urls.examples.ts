/** Type-checked examples for issuer-urls.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import { issuerUrls } from './issuer-urls.ts';

export function issuerUrlsExample(app: Koa) {
  //#region issuerUrls
  app.use(issuerUrls('https://auth.example.com/tenant'));
  //#endregion issuerUrls
}
