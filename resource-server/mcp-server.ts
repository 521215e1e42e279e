import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ToolRegistry } from './tools/registry.ts';

export const SERVER_INFO = { name: 'mcp-oauth-stack-resource-server', version: '0.1.0' };

/**
 * An McpServer with every tool of the registry. Session mode builds one per session; stateless
 * mode builds exactly one for the whole process (see stateless-transport.ts).
 */
export function createMcpServer(registry: ToolRegistry): McpServer {
  const server = new McpServer(SERVER_INFO, {
    capabilities: { tools: {} },
    instructions:
      'Demo tools protected by OAuth: whoami, greet, reverse (with progress), admin_report (needs mcp:admin and the admin role).',
  });
  registry.registerAll(server);
  return server;
}
