/** Type-checked examples for request-body.ts (its JSDoc shows these regions). */
import type { Context } from 'koa';
import { readForm } from './request-body.ts';

export async function readFormExample(ctx: Context) {
  //#region readForm
  const form = await readForm(ctx); // → { grant_type: 'refresh_token', resource: [...] }
  //#endregion readForm
}
