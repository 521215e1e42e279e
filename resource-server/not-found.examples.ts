/** Type-checked examples for not-found.ts (its JSDoc shows these regions). */
import type Router from '@koa/router';
import type Koa from 'koa';
import type { Logger } from '../common/logger.ts';
import { notFound } from './not-found.ts';
import type { ServedResources } from './served-resources.ts';

export function notFoundExample(app: Koa, routes: Router, resources: ServedResources, log: Logger) {
  //#region notFound
  app.use(routes.routes());
  app.use(notFound(resources, log));
  //#endregion notFound
}
