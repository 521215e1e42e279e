/**
 * The resource server's scopes, declared once. The tool registry requires them, the Protected
 * Resource Metadata publishes them, and the auth server's default resource configuration (and its
 * consent page, through `description`) reads them from here.
 */
export interface ScopeDefinition {
  name: string;
  /** Plain words for the consent page: what the user lets the client do. */
  description: string;
}

/** Baseline scope: call the ordinary tools. */
export const TOOLS_SCOPE = 'mcp:tools';
/** Elevated scope: administrative tools (also need the `admin` role). */
export const ADMIN_SCOPE = 'mcp:admin';

export const RESOURCE_SCOPES: readonly ScopeDefinition[] = [
  { name: TOOLS_SCOPE, description: 'Use the tools of this MCP server on your behalf' },
  { name: ADMIN_SCOPE, description: 'Use administrative tools (only if your account has the admin role)' },
];

/**
 * Never a resource requirement: refresh tokens are the authorization server's business, so these
 * are neither published in the metadata, checked, nor challenged for (MCP 2026-07-28 "Refresh
 * Tokens", SEP-2207).
 */
export const AUTHORIZATION_SERVER_SCOPES: ReadonlySet<string> = new Set(['offline_access']);
