import type { AuthInfo, McpServer, ServerContext } from '@modelcontextprotocol/server';

type RequestHandler = (request: unknown, ctx: Pick<ServerContext, 'http'>) => Promise<unknown>;

/**
 * Filters each tools/list answer by the caller (the request's authInfo), after the McpServer
 * built it. Why here: stateless mode serves every caller from ONE McpServer, so hiding a tool by
 * not registering it is not enough; the list must be cut per request.
 *
 * The SDK seam: the SDK's Protocol (v1 and v2 alike) keeps its handlers in `_requestHandlers`
 * and has no public getter for the handler McpServer installed; this is the one place that
 * reaches for it (tool-policy.test.ts "hides from tools/list…" fails if an SDK update breaks it).
 */
export function filterToolList(server: McpServer, visible: (name: string, auth: AuthInfo | undefined) => boolean): void {
  const handlers = (server.server as unknown as { _requestHandlers?: Map<string, RequestHandler> })._requestHandlers;
  const list = handlers?.get('tools/list');
  if (!handlers || !list) throw new Error('filterToolList: the MCP SDK has no tools/list handler to wrap (SDK changed?)');
  handlers.set('tools/list', async (request, ctx) => {
    const result = (await list(request, ctx)) as { tools: { name: string }[] };
    return { ...result, tools: result.tools.filter((tool) => visible(tool.name, ctx.http?.authInfo)) };
  });
}
