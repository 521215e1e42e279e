/** Type-checked examples for registration-defaults.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import { registrationDefaults } from './registration-defaults.ts';

export function registrationDefaultsExample(app: Koa) {
  //#region registrationDefaults
  app.use(registrationDefaults('/reg'));
  //#endregion registrationDefaults
}
