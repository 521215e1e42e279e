import type { IncomingMessage, ServerResponse } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { classifyInboundRequest, createMcpHandler, type AuthInfo } from '@modelcontextprotocol/server';
import { createMcpServer } from './mcp-server.ts';
import type { ToolRegistry } from './tools/registry.ts';

/**
 * Whether a POST belongs to the 2026-07-28 entry: it carries the per-request `_meta` envelope, or
 * claims 2026-07-28 in a way the entry must refuse itself (a `MCP-Protocol-Version: 2026-07-28`
 * header without `_meta` is a -32602, not a 2025 request without a session). The SDK's own
 * classifier, fed with the body we already parsed, so both sides can never disagree.
 */
export function isModernRequest(req: IncomingMessage, body: unknown): boolean {
  if (req.method !== 'POST') return false;
  const header = (name: string) => {
    const value = req.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  const outcome = classifyInboundRequest({
    httpMethod: 'POST',
    protocolVersionHeader: header('mcp-protocol-version'),
    mcpMethodHeader: header('mcp-method'),
    mcpNameHeader: header('mcp-name'),
    body,
  });
  return outcome.kind !== 'legacy';
}

/**
 * The 2026-07-28 entry (the SDK's createMcpHandler, strict: 2025 traffic is routed to sessions or
 * the stateless transport before it gets here). Stateless by the spec: no Mcp-Session-Id, no
 * initialize; every request brings its own bearer token (checked before this, with the scopes of
 * the tools it calls) and is served by a fresh McpServer that sees the token as
 * `ctx.http.authInfo`. The SDK checks the envelope (-32602), the standard headers against the body
 * (Mcp-Method, Mcp-Name: -32020) and answers server/discover.
 *
 * ```ts source="./modern-entry.examples.ts#createModernEntry"
 * const modern = createModernEntry(demoTools);
 * if (isModernRequest(ctx.req, body)) await modern.serve(ctx.req, ctx.res, body);
 * ```
 */
export function createModernEntry(registry: ToolRegistry) {
  const handler = createMcpHandler(() => createMcpServer(registry), { legacy: 'reject' });
  const node = toNodeHandler(handler);
  return {
    /** `req.auth` (set by the token gate) becomes the request's authInfo. */
    serve: (req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, body: unknown): Promise<void> => node(req, res, body),
    close: () => handler.close(),
  };
}
