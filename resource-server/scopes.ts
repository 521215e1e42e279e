/**
 * The demo tools' scopes. The tool registry derives what the Protected Resource Metadata
 * publishes (scopes_supported) and what a 401 challenges for from the tools that require them.
 * The auth server does not read this file: it grants the scopes configured in its
 * AUTH_RESOURCE_SCOPES (default: these two), so a new scope here needs that setting too.
 */

/** Baseline scope: call the ordinary tools. */
export const TOOLS_SCOPE = 'mcp:tools';
/** Elevated scope: administrative tools (also need the `admin` role). */
export const ADMIN_SCOPE = 'mcp:admin';

/**
 * Never a resource requirement: refresh tokens are the authorization server's business, so these
 * are neither published in the metadata, checked, nor challenged for (MCP 2026-07-28 "Refresh
 * Tokens", SEP-2207).
 */
export const AUTHORIZATION_SERVER_SCOPES: ReadonlySet<string> = new Set(['offline_access']);
