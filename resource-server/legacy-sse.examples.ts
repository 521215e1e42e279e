/** Type-checked examples for legacy-sse.ts (its JSDoc shows these regions). */
import type { Context } from 'koa';
import { createLegacySse } from './legacy-sse.ts';
import type { McpSession } from './mcp-transport.ts';
import type { SessionStore } from './sessions.ts';
import { demoTools } from './tools/index.ts';

export async function createLegacySseExample(ctx: Context, sessions: SessionStore<McpSession>, body: unknown) {
  //#region createLegacySse
  const sse = createLegacySse(demoTools, sessions, '/messages');
  const alice = { subject: 'alice', clientId: 'app', ip: ctx.ip };
  await sse.open(ctx.res, alice); // GET /sse
  await sse.post(ctx.req, ctx.res, body, alice); // POST /messages?sessionId=…
  //#endregion createLegacySse
}
