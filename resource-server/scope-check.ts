import { toolCallsIn } from './json-rpc.ts';
import { AUTHORIZATION_SERVER_SCOPES } from './scopes.ts';
import type { ToolRegistry } from './tools/registry.ts';

/**
 * Decides, before dispatch, whether a token's scopes cover every tools/call in a body.
 * Returns undefined when they do, else the scope string for the 403 challenge: every scope the
 * calls need plus the resource scopes the token already has, because clients re-authorize with
 * exactly the challenged scope and must not lose what they had (MCP 2025-11-25, scope challenge).
 * Unknown tools need nothing here: the SDK answers them with its own JSON-RPC error.
 *
 * ```ts source="./scope-check.examples.ts#missingScopeChallenge"
 * missingScopeChallenge(body, ['mcp:tools'], demoTools); // 'mcp:tools mcp:admin' for admin_report
 * ```
 */
export function missingScopeChallenge(body: unknown, granted: readonly string[], registry: ToolRegistry): string | undefined {
  const needed = new Set<string>();
  for (const name of toolCallsIn(body)) {
    for (const scope of registry.scopesFor(name) ?? []) if (!AUTHORIZATION_SERVER_SCOPES.has(scope)) needed.add(scope);
  }
  if ([...needed].every((scope) => granted.includes(scope))) return undefined;
  const challenge = new Set([...registry.scopes.filter((scope) => granted.includes(scope)), ...needed]);
  // Keep the registry's order (baseline first) for a stable, readable header.
  return registry.scopes.filter((scope) => challenge.has(scope) && !AUTHORIZATION_SERVER_SCOPES.has(scope)).join(' ');
}
