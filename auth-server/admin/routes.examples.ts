/** Type-checked examples for routes.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import { adminRoutes, type AdminRouteDeps } from './routes.ts';

export function adminRoutesExample(
  app: Koa,
  { provider, pages, storage, config, cookieKeys, trail, signingKeys, live, revocation, prefix }: AdminRouteDeps,
) {
  //#region adminRoutes
  app.use(adminRoutes({ provider, pages, storage, config, cookieKeys, trail, signingKeys, live, revocation, prefix }).routes());
  //#endregion adminRoutes
}
