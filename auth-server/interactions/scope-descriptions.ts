/**
 * Plain words for the consent page. The resource scopes are configuration (AUTH_RESOURCE_SCOPES),
 * not something read from the resource server, so their words live here too: the demo MCP
 * server's scopes have their own sentence, any other scope a generic one naming it.
 */
const DESCRIPTIONS = new Map<string, string>([
  // OpenID Connect scopes, granted by this server itself.
  ['openid', 'Know who you are (your user id)'],
  ['profile', 'See your name and username'],
  ['email', 'See your email address'],
  ['offline_access', 'Stay connected while you are away'],
  // The demo MCP server's scopes (the AUTH_RESOURCE_SCOPES default).
  ['mcp:tools', 'Use the tools of this MCP server on your behalf'],
  ['mcp:admin', 'Use administrative tools (only if your account has the admin role)'],
]);

/** What the user is told about a scope we have no words for: the scope is shown beside it. */
export const GENERIC_SCOPE_DESCRIPTION = 'Use what the server offers under this permission, on your behalf';

/**
 * Scope names in plain words for the consent page, each once.
 *
 * ```ts source="./scope-descriptions.examples.ts#describeScopes"
 * describeScopes(['openid', 'mcp:tools']); // → [{ name: 'openid', description: 'Know who you are…' }, …]
 * ```
 */
export function describeScopes(scopes: Iterable<string>): { name: string; description: string }[] {
  return [...new Set(scopes)].map((name) => ({ name, description: DESCRIPTIONS.get(name) ?? GENERIC_SCOPE_DESCRIPTION }));
}
