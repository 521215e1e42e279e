/** Type-checked examples for mcp-transport.ts (its JSDoc shows these regions). */
import type { Context } from 'koa';
import { createSessionHandler, type McpSession } from './mcp-transport.ts';
import type { SessionStore } from './sessions.ts';
import { demoTools } from './tools/index.ts';

export async function createSessionHandlerExample(ctx: Context, sessions: SessionStore<McpSession>, body: unknown) {
  //#region createSessionHandler
  const handle = createSessionHandler(demoTools, sessions);
  await handle(ctx.req, ctx.res, body, { subject: 'alice', clientId: 'app', ip: ctx.ip });
  //#endregion createSessionHandler
}
