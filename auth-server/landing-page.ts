import type { Context } from 'koa';
import type { AuthServerConfig } from './config.ts';
import type { Pages } from './interactions/pages.ts';

/** What the issuer URL answers: the facts a person (or a script) needs to go on. */
export interface Landing {
  name: string;
  issuer: string;
  /** Authorization-server metadata URLs (RFC 8414, OpenID discovery). */
  metadata: string[];
  jwks: string;
  /** The MCP servers (RFC 8707 resources) this server issues tokens for. */
  resources: string[];
  /** Where a user types a device code (RFC 8628). */
  device: string;
  next: string;
}

export function describeServer(config: Pick<AuthServerConfig, 'issuer' | 'resources'>): Landing {
  const issuer = new URL(config.issuer);
  const path = issuer.pathname.replace(/\/$/, '');
  const at = (name: string) => `${config.issuer}${name}`;
  const metadata = [at('/.well-known/oauth-authorization-server'), at('/.well-known/openid-configuration')];
  // RFC 8414 §3.1: with an issuer path, the well-known segment goes before the path.
  if (path) metadata.unshift(`${issuer.origin}/.well-known/oauth-authorization-server${path}`);
  return {
    name: 'mcp-oauth-stack authorization server',
    issuer: config.issuer,
    metadata,
    jwks: at('/jwks'),
    resources: config.resources.map((r) => r.url),
    device: at('/device'),
    next: 'Point your MCP client at the MCP server URL: it finds this server, registers itself and opens the sign-in page here.',
  };
}

/**
 * The page at the issuer URL (what `npm start` prints), which would otherwise be a 404: HTML for
 * a browser, JSON for a client asking for it, plain text for everyone else (curl).
 *
 * ```ts source="./landing-page.examples.ts#landingPage"
 * const router = new Router();
 * router.get('/', landingPage(config, pages));
 * ```
 */
export function landingPage(config: Pick<AuthServerConfig, 'issuer' | 'resources'>, pages: Pages) {
  const landing = describeServer(config);
  const text = [
    landing.name,
    '',
    `Issuer:          ${landing.issuer}`,
    ...landing.metadata.map((url, i) => `${i === 0 ? 'Metadata:' : ''}`.padEnd(17) + url),
    `JWKS:            ${landing.jwks}`,
    ...landing.resources.map((url, i) => `${i === 0 ? 'MCP server(s):' : ''}`.padEnd(17) + url),
    `Device sign-in:  ${landing.device}`,
    '',
    landing.next,
    '',
  ].join('\n');
  return (ctx: Context) => {
    ctx.vary('Accept');
    const accept = ctx.get('Accept');
    if (/\btext\/html\b/.test(accept)) return pages.send(ctx, 'home', { ...landing });
    ctx.set('Cache-Control', 'no-store');
    if (/\bapplication\/json\b/.test(accept)) {
      ctx.body = landing;
      return;
    }
    ctx.type = 'text/plain';
    ctx.body = text;
  };
}
