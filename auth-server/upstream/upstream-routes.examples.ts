/** Type-checked examples for upstream-routes.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import { upstreamRoutes, type UpstreamRouteDeps } from './upstream-routes.ts';

export function upstreamRoutesExample(
  app: Koa,
  { provider, pages, accounts, models, upstreams, issuer, prefix, audit }: UpstreamRouteDeps,
) {
  //#region upstreamRoutes
  app.use(upstreamRoutes({ provider, pages, accounts, models, upstreams, issuer, prefix, audit }).routes());
  //#endregion upstreamRoutes
}
