import type { AuthInfo, ServerContext } from '@modelcontextprotocol/server';

/** Who is calling a tool, read from the SDK's authInfo (set by the bearer check). */
export interface Caller {
  /**
   * `machine` for a token without a user: a client_credentials token, whose `sub` is the client
   * itself (RFC 9068 §2.2). Then `subject` is a client id, never a person.
   */
  kind: 'user' | 'machine';
  subject: string;
  clientId: string;
  scopes: string[];
  roles: string[];
  /** Token expiry, seconds since epoch. */
  expiresAt: number | undefined;
}

/**
 * Whether a token was issued to a client on its own behalf (no user): `sub === client_id`. The
 * auth server issues such tokens (client_credentials) only to machine clients an operator
 * registered; a user's token carries the user's account id as `sub`, which is never a client id.
 */
export function isMachineToken(info: AuthInfo | undefined): boolean {
  return info !== undefined && typeof info.extra?.sub === 'string' && info.extra.sub === info.clientId;
}

/**
 * The token's AuthInfo reaches a tool as `ctx.http.authInfo`, on every transport and protocol
 * revision we serve (sessions, stateless, 2026-07-28 per request, legacy SSE).
 *
 * ```ts source="./caller.examples.ts#callerOf"
 * const whoami = defineTool({
 *   name: 'whoami',
 *   title: 'Who am I',
 *   description: 'Returns the caller',
 *   requiredScopes: [TOOLS_SCOPE],
 *   run: (ctx) => ({ content: [{ type: 'text', text: JSON.stringify(callerOf(ctx)) }] }),
 * });
 * ```
 */
export function callerOf(ctx: Pick<ServerContext, 'http'>): Caller {
  const info = ctx.http?.authInfo;
  const roles = info?.extra?.roles;
  return {
    kind: isMachineToken(info) ? 'machine' : 'user',
    subject: typeof info?.extra?.sub === 'string' ? info.extra.sub : 'anonymous',
    clientId: info?.clientId ?? 'anonymous',
    scopes: info?.scopes ?? [],
    roles: Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [],
    expiresAt: info?.expiresAt,
  };
}
