import type { IncomingMessage, ServerResponse } from 'node:http';
import { writeJsonRpcError } from './json-rpc.ts';
import { createMcpServer } from './mcp-server.ts';
import { SESSION_NOT_FOUND, writeSessionRefusal, type McpSession } from './mcp-transport.ts';
import type { SessionOwner, SessionStore } from './sessions.ts';
import type { ToolRegistry } from './tools/registry.ts';

/**
 * The 2024-11-05 HTTP+SSE transport for clients that speak nothing newer (the v2 SDK dropped it;
 * @modelcontextprotocol/server-legacy keeps v1's transport, frozen): GET /sse opens an event
 * stream whose first event names the POST URL (/messages?sessionId=…); answers come on the
 * stream. Same auth, origin and scope checks as /mcp (done before these handlers); the session
 * is bound to the subject and client that opened the stream, under the same caps as /mcp.
 *
 * ```ts source="./legacy-sse.examples.ts#createLegacySse"
 * const sse = createLegacySse(demoTools, sessions, '/messages');
 * const alice = { subject: 'alice', clientId: 'app', ip: ctx.ip };
 * await sse.open(ctx.res, alice); // GET /sse
 * await sse.post(ctx.req, ctx.res, body, alice); // POST /messages?sessionId=…
 * ```
 */
export function createLegacySse(registry: ToolRegistry, sessions: SessionStore<McpSession>, messagesPath: string) {
  return {
    async open(res: ServerResponse, owner: SessionOwner): Promise<void> {
      const refusal = sessions.refusal(owner);
      if (refusal) return writeSessionRefusal(res, refusal);
      // Loaded on the first legacy client: most servers never see one (bench/FINDINGS.md).
      const { SSEServerTransport } = await import('@modelcontextprotocol/server-legacy/sse');
      const transport = new SSEServerTransport(messagesPath, res);
      const server = createMcpServer(registry);
      const id = transport.sessionId;
      sessions.add(id, owner, { kind: 'sse', transport, close: () => server.close() });
      transport.onclose = () => sessions.delete(id);
      await server.connect(transport);
    },

    async post(req: IncomingMessage, res: ServerResponse, body: unknown, owner: SessionOwner): Promise<void> {
      const id = new URL(req.url ?? '/', 'http://x').searchParams.get('sessionId') ?? '';
      const session = sessions.get(id, owner);
      if (session?.kind !== 'sse') return writeJsonRpcError(res, SESSION_NOT_FOUND);
      await session.transport.handlePostMessage(req, res, body);
    },
  };
}
