import type { ServedResource } from './served-resources.ts';
import type { ToolRegistry } from './tools/registry.ts';

/**
 * The page `resource_documentation` points at by default (GET /): what this server is, its two
 * endpoints with their metadata, and the tools with what each needs.
 *
 * ```ts source="./documentation-page.examples.ts#documentationPage"
 * ctx.type = 'text/plain';
 * ctx.body = documentationPage({ mcp: resources.canonical.mcp, sse: resources.canonical.sse }, demoTools);
 * ```
 */
export function documentationPage(resources: { mcp: ServedResource; sse: ServedResource }, registry: ToolRegistry): string {
  const tools = registry.tools.map(
    (t) =>
      `  - ${t.name} (scopes: ${t.requiredScopes.join(' ')}${t.requiredRoles.length ? `; roles: ${t.requiredRoles.join(' ')}` : ''}${t.requiresUser ? '; users only' : ''})`,
  );
  return [
    'MCP resource server (mcp-oauth-stack)',
    '',
    `MCP endpoint (Streamable HTTP): ${resources.mcp.url}`,
    `  Protected Resource Metadata: ${resources.mcp.metadataUrl}`,
    `Legacy HTTP+SSE endpoint:       ${resources.sse.url}`,
    `  Protected Resource Metadata: ${resources.sse.metadataUrl}`,
    '',
    'Send an OAuth access token from the authorization server in the Authorization header,',
    'issued for the endpoint you call (its URL is the token audience).',
    'Tools:',
    ...tools,
    '',
  ].join('\n');
}
