/** Type-checked examples for json-rpc.ts (its JSDoc shows these regions). */
import type { Context } from 'koa';
import { readJsonBody } from './json-rpc.ts';

export async function readJsonBodyExample(ctx: Context) {
  //#region readJsonBody
  const body = await readJsonBody(ctx.req); // unknown: a message or a batch
  //#endregion readJsonBody
}
