import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';

/** Who is calling a tool, read from the SDK's authInfo (set by the bearer check). */
export interface Caller {
  subject: string;
  clientId: string;
  scopes: string[];
  roles: string[];
  /** Token expiry, seconds since epoch. */
  expiresAt: number | undefined;
}

/**
 * @example
 * server.registerTool('whoami', {}, (extra) => text(JSON.stringify(callerOf(extra))));
 */
export function callerOf(extra: { authInfo?: AuthInfo | undefined }): Caller {
  const info = extra.authInfo;
  const roles = info?.extra?.roles;
  return {
    subject: typeof info?.extra?.sub === 'string' ? info.extra.sub : 'anonymous',
    clientId: info?.clientId ?? 'anonymous',
    scopes: info?.scopes ?? [],
    roles: Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [],
    expiresAt: info?.expiresAt,
  };
}
