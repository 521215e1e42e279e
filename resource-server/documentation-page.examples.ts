/** Type-checked examples for documentation-page.ts (its JSDoc shows these regions). */
import type { Context } from 'koa';
import { documentationPage } from './documentation-page.ts';
import type { ServedResources } from './served-resources.ts';
import { demoTools } from './tools/index.ts';

export function documentationPageExample(ctx: Context, resources: ServedResources) {
  //#region documentationPage
  ctx.type = 'text/plain';
  ctx.body = documentationPage({ mcp: resources.canonical.mcp, sse: resources.canonical.sse }, demoTools);
  //#endregion documentationPage
}
