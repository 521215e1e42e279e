/** Type-checked examples for routes.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import { interactionRoutes, type InteractionDeps } from './routes.ts';

export function interactionRoutesExample(app: Koa, deps: InteractionDeps) {
  //#region interactionRoutes
  app.use(interactionRoutes(deps).routes());
  //#endregion interactionRoutes
}
