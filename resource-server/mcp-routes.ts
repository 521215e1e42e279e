import type { ServerResponse } from 'node:http';
import Router from '@koa/router';
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { Context, Middleware, Next } from 'koa';
import { accessLog, type Logger } from '../common/logger.ts';
import type { ResourceServerConfig } from './config.ts';
import { mcpCors, publicCors } from './cors.ts';
import { documentationPage } from './documentation-page.ts';
import { UPSTREAM_JWKS_PATH } from './gateway/upstream-jwt.ts';
import { JsonRpcHttpError, methodsIn, readJsonBody } from './json-rpc.ts';
import type { createLegacySse } from './legacy-sse.ts';
import type { createSessionHandler } from './mcp-transport.ts';
import { isModernRequest, type createModernEntry } from './modern-entry.ts';
import { protectedResourceMetadata } from './protected-resource-metadata.ts';
import type { TokenGate, TokenState } from './require-token.ts';
import { missingScopeChallenge } from './scope-check.ts';
import type { EndpointKind, ServedResource, ServedResources } from './served-resources.ts';
import type { StatelessHttpTransport } from './stateless-transport.ts';
import type { ToolRegistry } from './tools/registry.ts';

/** Where an authenticated MCP request goes: the Streamable HTTP endpoint, or the legacy pair. */
type McpRoute = 'mcp' | 'sse' | 'messages';

export interface McpRoutesOptions {
  config: Pick<ResourceServerConfig, 'issuer' | 'resourceName' | 'resourceDocumentation'>;
  registry: ToolRegistry;
  resources: ServedResources;
  gate: TokenGate;
  isAllowedOrigin: (origin: string | undefined) => boolean;
  log: Logger;
  /** 2025-era Streamable HTTP with sessions (mcp-transport.ts); unused when `stateless` is given. */
  handleSession: ReturnType<typeof createSessionHandler>;
  /** 2026-07-28, stateless per request (modern-entry.ts), on the same URL as the 2025 sessions. */
  modern: ReturnType<typeof createModernEntry>;
  legacy: ReturnType<typeof createLegacySse>;
  /** Ends an event stream when the token that opened it expires or is revoked (stream-lifetime.ts). */
  bindToToken?: ((res: ServerResponse, auth: AuthInfo) => void) | undefined;
  /** MCP_STATELESS: the shared transport, and its server's connect() to wait for. */
  stateless?: { transport: StatelessHttpTransport; ready: Promise<void> } | undefined;
}

/**
 * The resource server's routes: the Protected Resource Metadata of each resource (RFC 9728),
 * /healthz, the documentation page at /, and the MCP endpoints. Every MCP request goes:
 * CORS → Origin check (403) → method (405) → token for that endpoint's resource (401/503) →
 * body (400/413/415) → scopes of the tools it calls (403) → the SDK: the 2026-07-28 entry for a
 * request with the per-request envelope, else 2025 sessions (or the stateless transport).
 *
 * Every entry point needs the token, `server/discover` included: the 2026-07-28 authorization
 * spec asks for the token on every HTTP request and exempts no method, and what discover says
 * (capabilities, instructions) is as much the server's as a tool list. A client learns where to
 * get a token from the 401's resource_metadata, as before.
 *
 * ```ts source="./mcp-routes.examples.ts#mcpRoutes"
 * const routes = mcpRoutes({ config, registry, resources, gate, isAllowedOrigin, log, handleSession, modern, legacy });
 * app.use(routes.routes());
 * ```
 */
export function mcpRoutes(options: McpRoutesOptions): Router {
  const { resources, gate, log, registry } = options;
  // The one line per MCP request: fixed fields, none a secret, so it skips pino's redaction (logger.ts).
  const access = accessLog(log);
  const { paths } = resources;
  // Exact paths, as the URLs in the metadata say them: `/mcp/` and `/MCP` are not the endpoint.
  const router = new Router({ strict: true, sensitive: true });
  const corsForMcp = mcpCors(options.isAllowedOrigin);
  const corsForMetadata = publicCors();

  const metadataBodies = new Map<string, string>();
  const metadataBody = (resource: ServedResource) => {
    let body = metadataBodies.get(resource.url);
    if (!body) {
      body = JSON.stringify(protectedResourceMetadata({ ...options.config, resourceUrl: resource.url }, registry.scopes));
      metadataBodies.set(resource.url, body);
    }
    return body;
  };

  for (const [path, kind] of paths.metadata) {
    router.all(literal(path), corsForMetadata, (ctx) => {
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return void ((ctx.status = 405), ctx.set('Allow', 'GET'));
      ctx.type = 'application/json';
      ctx.set('Cache-Control', 'public, max-age=300');
      ctx.body = metadataBody(resources.resolve(kind, ctx.host));
    });
  }

  // Gateway with MCP_UPSTREAM_IDENTITY=jwt: the upstream verifies our JWTs with these keys.
  const upstreamJwks = registry.upstreamJwks;
  if (upstreamJwks) {
    const body = JSON.stringify(upstreamJwks);
    router.get(literal(UPSTREAM_JWKS_PATH), corsForMetadata, (ctx) => {
      ctx.type = 'application/jwk-set+json';
      // Short: a restart without MCP_UPSTREAM_JWT_KEY_FILE makes a new key.
      ctx.set('Cache-Control', 'public, max-age=60');
      ctx.body = body;
    });
  }

  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });

  router.get('/', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = documentationPage({ mcp: resources.resolve('mcp', ctx.host), sse: resources.resolve('sse', ctx.host) }, registry);
  });

  const mcpEndpoint = (route: McpRoute, kind: EndpointKind, allow: string | undefined): Middleware[] => [
    corsForMcp,
    originCheck(options.isAllowedOrigin, log),
    methodCheck(allow),
    gate.requireToken(kind),
    (ctx) => serve(ctx, route),
  ];
  router.all(literal(paths.mcp), ...mcpEndpoint('mcp', 'mcp', undefined));
  router.all(literal(paths.sse), ...mcpEndpoint('sse', 'sse', 'GET'));
  router.all(literal(paths.messages), ...mcpEndpoint('messages', 'sse', 'POST'));

  async function serve(ctx: Context, route: McpRoute): Promise<void> {
    const { auth, resource } = ctx.state as TokenState;
    const subject = String(auth.extra?.sub);
    let body: unknown;
    if (ctx.method === 'POST') {
      try {
        body = await readJsonBody(ctx.req);
      } catch (error) {
        if (!(error instanceof JsonRpcHttpError)) throw error;
        ctx.status = error.status;
        ctx.body = error.body;
        if (!ctx.req.complete) closeAfterAnswer(ctx);
        return;
      }
      const scope = missingScopeChallenge(body, auth.scopes, registry);
      if (scope) {
        const scheme = auth.extra?.jkt ? 'DPoP' : 'Bearer';
        // No error_description: the challenge is exactly what RFC 6750 §3.1 needs for a step-up.
        gate.refuse(ctx, resource, 403, { scheme, error: 'insufficient_scope', scope }, auth);
        return;
      }
    }
    access(
      'info',
      {
        sub: subject,
        client_id: auth.clientId,
        methods: body === undefined ? [ctx.method] : methodsIn(body),
        session: ctx.get('Mcp-Session-Id') || undefined,
        path: ctx.path,
      },
      'mcp request',
    );
    // From here the SDK writes the Node response itself; headers set so far (CORS) stay on it.
    ctx.respond = false;
    const owner = { subject, clientId: auth.clientId, ip: ctx.ip };
    if (route === 'sse') {
      await options.legacy.open(ctx.res, owner);
      return options.bindToToken?.(ctx.res, auth);
    }
    if (route === 'messages') return options.legacy.post(ctx.req, ctx.res, body, owner);
    if (ctx.method === 'POST' && isModernRequest(ctx.req, body)) return options.modern.serve(ctx.req, ctx.res, body);
    const stateless = options.stateless;
    if (!stateless) {
      await options.handleSession(ctx.req, ctx.res, body, owner);
      // A GET is the session's event stream (or was refused, and is over already).
      if (ctx.method === 'GET') options.bindToToken?.(ctx.res, auth);
      return;
    }
    if (ctx.method === 'POST') {
      await stateless.ready;
      return stateless.transport.handle(ctx.req, ctx.res, body, auth);
    }
    // Stateless: no standalone stream to GET and no session to DELETE (transport spec allows 405).
    ctx.respond = true;
    ctx.status = 405;
    ctx.set('Allow', 'POST');
    ctx.body = new JsonRpcHttpError(405, -32000, 'Method not allowed: this server is stateless').body;
  }

  return router;
}

/** DNS-rebinding defence (MCP transport spec): a browser page's Origin must be allowed; preflights end here. */
function originCheck(isAllowedOrigin: (origin: string | undefined) => boolean, log: Logger): Middleware {
  return async (ctx: Context, next: Next) => {
    if (!isAllowedOrigin(ctx.get('Origin') || undefined)) {
      ctx.status = 403;
      ctx.body = new JsonRpcHttpError(403, -32000, 'Forbidden: Origin not allowed').body;
      log.warn({ origin: ctx.get('Origin'), path: ctx.path }, 'mcp request from a forbidden origin');
      return;
    }
    if (ctx.method === 'OPTIONS') {
      ctx.status = 204;
      return;
    }
    await next();
  };
}

/** 405 before the token check for a method the endpoint does not serve (`allow` unset: the SDK decides). */
function methodCheck(allow: string | undefined): Middleware {
  return async (ctx: Context, next: Next) => {
    if (allow && ctx.method !== allow) {
      ctx.status = 405;
      ctx.set('Allow', allow);
      return;
    }
    await next();
  };
}

/**
 * A path from the configuration as a literal route: path-to-regexp would read `:`, `*`, `(` and
 * the like in RS_RESOURCE_URL's path as parameters or patterns.
 */
function literal(path: string): string {
  return path.replace(/[\\:*?+!(){}[\]]/g, '\\$&');
}

/**
 * Ends the connection once the answer is out. A request whose body we stopped reading (413 past
 * the limit, 415 before reading) leaves the rest of that body in the socket: kept alive, the
 * connection would sit until the keep-alive timeout (~66 s), and behind a proxy that reuses
 * connections other users' requests would queue on it. `Connection: close` tells the client
 * (and any proxy) not to reuse it; destroying the socket after the answer stops us reading the
 * rest. An incomplete chunked body cannot be skipped safely: its length is unknown.
 */
function closeAfterAnswer(ctx: Context): void {
  ctx.set('Connection', 'close');
  // The response's socket: after the body iterator gave up, the request no longer points at it.
  const socket = ctx.res.socket;
  ctx.res.once('finish', () => socket?.destroy());
}
