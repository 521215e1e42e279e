import { McpServer } from '@modelcontextprotocol/server';
import type { ToolRegistry } from './tools/registry.ts';

export const SERVER_INFO = { name: 'mcp-oauth-stack-resource-server', version: '0.1.0' };

/**
 * Cache hints for 2026-07-28 (`ttlMs`/`cacheScope` on cacheable results; 2025-era answers never
 * carry them). The tool list and the discovery result are the same for every caller (every tool
 * is listed; scopes are checked when a tool is called) and change only with a deploy, so shared
 * caches may keep them for a few minutes. Tool results are not cacheable results in the spec;
 * those that depend on the caller (whoami, greet) must never be shared, and no cache field is
 * ever put on them, which leaves them uncached.
 */
export const CACHE_HINTS = {
  'tools/list': { ttlMs: 300_000, cacheScope: 'public' },
  'server/discover': { ttlMs: 300_000, cacheScope: 'public' },
} as const;

/** A tool list that depends on the caller (registry.listPerCaller) may be kept by that caller only. */
const PER_CALLER_HINTS = { ...CACHE_HINTS, 'tools/list': { ttlMs: 300_000, cacheScope: 'private' } } as const;

/**
 * An McpServer with every tool of the registry. Sessions build one per session, the 2026-07-28
 * entry one per request, and 2025 stateless mode exactly one for the whole process
 * (stateless-transport.ts).
 */
export function createMcpServer(registry: ToolRegistry): McpServer {
  const server = new McpServer(SERVER_INFO, {
    capabilities: { tools: {} },
    cacheHints: registry.listPerCaller ? PER_CALLER_HINTS : CACHE_HINTS,
    instructions:
      'Demo tools protected by OAuth: whoami, greet, reverse (with progress), admin_report (needs mcp:admin and the admin role).',
  });
  registry.registerAll(server);
  return server;
}
