/** Type-checked examples for session-transport.ts (its JSDoc shows these regions). */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { createMcpServer } from './mcp-server.ts';
import { SessionHttpTransport } from './session-transport.ts';
import type { ToolRegistry } from './tools/registry.ts';

export async function SessionHttpTransportExample(
  registry: ToolRegistry,
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  authInfo: AuthInfo,
) {
  //#region SessionHttpTransport
  const transport = new SessionHttpTransport(randomUUID());
  await createMcpServer(registry).connect(transport);
  transport.handle(req, res, body, authInfo); // the initialize POST, then every request of the session
  //#endregion SessionHttpTransport
}
