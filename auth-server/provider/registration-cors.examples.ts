/** Type-checked examples for registration-cors.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import { registrationCors } from './registration-cors.ts';

export function registrationCorsExample(app: Koa) {
  //#region registrationCors
  app.use(registrationCors('/reg'));
  //#endregion registrationCors
}
