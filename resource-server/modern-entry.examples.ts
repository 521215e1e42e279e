/** Type-checked examples for modern-entry.ts (its JSDoc shows these regions). */
import type { Context } from 'koa';
import { createModernEntry, isModernRequest } from './modern-entry.ts';
import { demoTools } from './tools/index.ts';

export async function createModernEntryExample(ctx: Context, body: unknown) {
  //#region createModernEntry
  const modern = createModernEntry(demoTools);
  if (isModernRequest(ctx.req, body)) await modern.serve(ctx.req, ctx.res, body);
  //#endregion createModernEntry
}
