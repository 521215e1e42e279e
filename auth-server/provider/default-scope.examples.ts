/** Type-checked examples for default-scope.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import type { AuthServerConfig } from '../config.ts';
import { defaultScope } from './default-scope.ts';

export function defaultScopeExample(app: Koa, config: AuthServerConfig) {
  //#region defaultScope
  app.use(defaultScope(config.resources, { authorization: '/auth', par: '/request', deviceAuthorization: '/device/auth' }));
  //#endregion defaultScope
}
