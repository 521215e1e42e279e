import cors from '@koa/cors';
import type { Middleware } from 'koa';

/** Headers a browser MCP client sends (MCP transport spec + RFC 9449). */
const ALLOW_HEADERS = ['Authorization', 'Content-Type', 'Accept', 'Mcp-Session-Id', 'MCP-Protocol-Version', 'Last-Event-ID', 'DPoP'];
/** Headers it must read: the challenge (to find the metadata and scope) and the session id. */
const EXPOSE_HEADERS = ['WWW-Authenticate', 'Mcp-Session-Id'];

/**
 * CORS for the MCP endpoints: only origins the policy allows get CORS headers. No credentials:
 * tokens travel in the Authorization header, never in cookies.
 */
export function mcpCors(isAllowedOrigin: (origin: string | undefined) => boolean): Middleware {
  return cors({
    origin: (ctx) => {
      const origin = ctx.get('Origin');
      return origin && isAllowedOrigin(origin) ? origin : '';
    },
    allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    allowHeaders: ALLOW_HEADERS,
    exposeHeaders: EXPOSE_HEADERS,
    maxAge: 600,
  });
}

/** CORS for public metadata: any origin may read it (MCP Inspector 1.x fetches it from the browser). */
export function publicCors(): Middleware {
  return cors({ origin: '*', allowMethods: ['GET', 'OPTIONS'], exposeHeaders: EXPOSE_HEADERS, maxAge: 600 });
}
