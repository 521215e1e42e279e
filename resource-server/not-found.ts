import type { Middleware } from 'koa';
import type { Logger } from '../common/logger.ts';
import type { ServedResources } from './served-resources.ts';

/**
 * The answer for every path no route serves, mounted last. A bare "404 Not Found" reaches the
 * user as "Error POSTing to endpoint: Not Found" with nothing to go on, so the body names the MCP
 * URL to use (JSON for clients, HTML for a browser), and `…/mcp/` or `…/MCP` is told the exact
 * URL. Logged at info: a client configured with a wrong URL shows up in the log.
 *
 * ```ts source="./not-found.examples.ts#notFound"
 * app.use(routes.routes());
 * app.use(notFound(resources, log));
 * ```
 */
export function notFound(resources: ServedResources, log: Logger): Middleware {
  return async (ctx) => {
    const mcp = resources.resolve('mcp', ctx.host);
    const sse = resources.resolve('sse', ctx.host);
    // A near miss of an endpoint (trailing slash, case): the client meant it.
    const meant = [mcp, sse].find((r) => sameEndpoint(new URL(r.url).pathname, ctx.path));
    const description = meant
      ? `${ctx.path} is not an endpoint of this server; use ${meant.url} exactly (no trailing slash)`
      : `${ctx.path} is not an endpoint of this server; the MCP endpoint is ${mcp.url} (legacy HTTP+SSE: ${sse.url})`;
    log.info(
      { method: ctx.method, path: ctx.path, ip: ctx.ip, user_agent: ctx.get('User-Agent') || undefined, mcp_url: mcp.url },
      'request for an unknown path',
    );
    ctx.status = 404;
    ctx.set('Cache-Control', 'no-store');
    if (ctx.accepts('json', 'html') === 'html') {
      ctx.type = 'text/html';
      ctx.body = page(description, meant?.url ?? mcp.url);
      return;
    }
    ctx.body = { error: 'not_found', error_description: description, mcp_url: meant?.url ?? mcp.url };
  };
}

function sameEndpoint(endpointPath: string, requested: string): boolean {
  return requested !== endpointPath && requested.replace(/\/+$/, '').toLowerCase() === endpointPath.toLowerCase();
}

function page(description: string, url: string): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><title>Not found</title></head><body>',
    '<h1>Not found</h1>',
    `<p>${escapeHtml(description)}</p>`,
    `<p>Point your MCP client at <a href="${escapeHtml(url)}">${escapeHtml(url)}</a>.</p>`,
    '</body></html>',
    '',
  ].join('\n');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
