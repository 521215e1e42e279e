/** Type-checked examples for stateless-transport.ts (its JSDoc shows these regions). */
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { Context } from 'koa';
import { createMcpServer } from './mcp-server.ts';
import { StatelessHttpTransport } from './stateless-transport.ts';
import type { ToolRegistry } from './tools/registry.ts';

export async function StatelessHttpTransportExample(ctx: Context, registry: ToolRegistry, body: unknown, authInfo: AuthInfo) {
  //#region StatelessHttpTransport
  const transport = new StatelessHttpTransport();
  await createMcpServer(registry).connect(transport);
  transport.handle(ctx.req, ctx.res, body, authInfo);
  //#endregion StatelessHttpTransport
}
