import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isInitializeRequest, type AuthInfo } from '@modelcontextprotocol/server';
import type { SSEServerTransport } from '@modelcontextprotocol/server-legacy/sse';
import { JsonRpcHttpError, writeJsonRpcError } from './json-rpc.ts';
import { createMcpServer } from './mcp-server.ts';
import { SessionHttpTransport } from './session-transport.ts';
import type { SessionCap, SessionOwner, SessionRefusal, SessionStore } from './sessions.ts';
import type { ToolRegistry } from './tools/registry.ts';

/** An open session: its transport (one McpServer behind it) and how to end it. */
export type McpSession =
  | { kind: 'streamable'; transport: SessionHttpTransport; close(): Promise<void> }
  | { kind: 'sse'; transport: SSEServerTransport; close(): Promise<void> };

export const SESSION_NOT_FOUND = new JsonRpcHttpError(404, -32001, 'Session not found');

const REFUSAL_MESSAGES: Record<SessionCap, string> = {
  user: 'Too many open sessions for this user: end one (DELETE) or retry later',
  client: 'Too many open sessions for this client: retry later',
  ip: 'Too many open sessions from this address: end one or retry later',
  server: 'The server has no room for more sessions: retry later',
};

/**
 * Answers a refused new session: 429 for the caller's own cap (it is the caller's to free), 503
 * only when the whole server is full. Retry-After says when the earliest counted session would
 * expire if left idle; `error.data` names the cap for clients that act on it.
 */
export function writeSessionRefusal(res: ServerResponse, refusal: SessionRefusal): void {
  const status = refusal.cap === 'server' ? 503 : 429;
  const error = new JsonRpcHttpError(status, -32000, REFUSAL_MESSAGES[refusal.cap], { cap: refusal.cap, limit: refusal.limit });
  writeJsonRpcError(res, error, { 'retry-after': String(refusal.retryAfterSec) });
}

/**
 * Streamable HTTP with sessions, for 2025-era clients (session-transport.ts; 2026-07-28 has no
 * sessions and is served by modern-entry.ts): an initialize request opens a session,
 * bound to the caller's subject and client, with its own McpServer; later requests carry
 * Mcp-Session-Id. The request must already be authenticated (req.auth set) and its body parsed.
 *
 * ```ts source="./mcp-transport.examples.ts#createSessionHandler"
 * const handle = createSessionHandler(demoTools, sessions);
 * await handle(ctx.req, ctx.res, body, { subject: 'alice', clientId: 'app', ip: ctx.ip });
 * ```
 */
export function createSessionHandler(
  registry: ToolRegistry,
  sessions: SessionStore<McpSession>,
  options: { keepAliveMs?: number | undefined } = {},
) {
  return async (req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, body: unknown, owner: SessionOwner): Promise<void> => {
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId, owner);
      // Unknown, expired, another transport's, another subject's or another client's: all look
      // the same (404), which tells the client to start a new session.
      if (session?.kind !== 'streamable') return writeJsonRpcError(res, SESSION_NOT_FOUND);
      return session.transport.handle(req, res, body, req.auth);
    }
    const initializes = req.method === 'POST' && (Array.isArray(body) ? body.some(isInitializeRequest) : isInitializeRequest(body));
    if (!initializes) {
      return writeJsonRpcError(res, new JsonRpcHttpError(400, -32000, 'Bad Request: Mcp-Session-Id header is required'));
    }
    // Between this check and sessions.add there is no I/O (the body is already parsed),
    // so parallel initializes cannot all pass it and overshoot a cap (mcp.test.ts checks that).
    const refusal = sessions.refusal(owner);
    if (refusal) return writeSessionRefusal(res, refusal);
    const server = createMcpServer(registry);
    const transport = new SessionHttpTransport(randomUUID(), options);
    sessions.add(transport.sessionId, owner, { kind: 'streamable', transport, close: () => server.close() });
    transport.onclose = () => sessions.delete(transport.sessionId);
    await server.connect(transport);
    transport.handle(req, res, body, req.auth);
    // An initialize that failed the transport's checks (a batch, a bad header) never became a session.
    if (!transport.initialized) await server.close();
  };
}
