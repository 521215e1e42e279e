/** Type-checked examples for resource-parameter.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import { resourceParameter } from './resource-parameter.ts';

export function resourceParameterExample(app: Koa) {
  //#region resourceParameter
  app.use(
    resourceParameter(['http://localhost:3001/mcp'], {
      authorization: '/auth',
      token: '/token',
      deviceAuthorization: '/device/auth',
      par: '/request',
    }),
  );
  //#endregion resourceParameter
}
