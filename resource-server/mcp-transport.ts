import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { JsonRpcHttpError, writeJsonRpcError } from './json-rpc.ts';
import { createMcpServer } from './mcp-server.ts';
import type { SessionStore } from './sessions.ts';
import type { ToolRegistry } from './tools/registry.ts';

/** An open session: its transport (one McpServer behind it) and how to end it. */
export type McpSession =
  | { kind: 'streamable'; transport: StreamableHTTPServerTransport; close(): Promise<void> }
  | { kind: 'sse'; transport: SSEServerTransport; close(): Promise<void> };

export const SESSION_NOT_FOUND = new JsonRpcHttpError(404, -32001, 'Session not found');

/**
 * Streamable HTTP with sessions (the SDK's transport): an initialize request opens a session,
 * bound to the caller's subject, with its own McpServer; later requests carry Mcp-Session-Id.
 * The request must already be authenticated (req.auth set) and its body parsed.
 *
 * @example
 * const handle = createSessionHandler(demoTools, sessions);
 * await handle(ctx.req, ctx.res, body, 'alice');
 */
export function createSessionHandler(registry: ToolRegistry, sessions: SessionStore<McpSession>) {
  return async (req: IncomingMessage, res: ServerResponse, body: unknown, subject: string): Promise<void> => {
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId, subject);
      // Unknown, expired, another transport's or another subject's: all look the same (404),
      // which tells the client to start a new session.
      if (session?.kind !== 'streamable') return writeJsonRpcError(res, SESSION_NOT_FOUND);
      return session.transport.handleRequest(req, res, body);
    }
    const initializes = req.method === 'POST' && (Array.isArray(body) ? body.some(isInitializeRequest) : isInitializeRequest(body));
    if (!initializes) {
      return writeJsonRpcError(res, new JsonRpcHttpError(400, -32000, 'Bad Request: Mcp-Session-Id header is required'));
    }
    if (!sessions.hasRoom()) {
      return writeJsonRpcError(res, new JsonRpcHttpError(503, -32000, 'Too many open sessions, retry later'), { 'retry-after': '30' });
    }
    if (!sessions.hasRoomFor(subject)) {
      return writeJsonRpcError(res, new JsonRpcHttpError(429, -32000, 'Too many open sessions for this user, retry later'), { 'retry-after': '30' });
    }
    const server = createMcpServer(registry);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => sessions.add(id, subject, { kind: 'streamable', transport, close: () => server.close() }),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
    // An initialize that failed validation never became a session: release its server.
    if (!transport.sessionId) await server.close();
  };
}
