import Koa, { type Context, type Next } from 'koa';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { createLogger, type Logger } from '../common/logger.ts';
import { metricsEndpoint } from '../common/metrics.ts';
import { AuthError, createBearerVerifier } from './bearer.ts';
import type { ResourceServerConfig } from './config.ts';
import { mcpCors, publicCors } from './cors.ts';
import { DPOP_ALGORITHMS } from './dpop.ts';
import { ForeignJwksUriError } from './issuer-keys.ts';
import { JsonRpcHttpError, methodsIn, readJsonBody } from './json-rpc.ts';
import { createLegacySse } from './legacy-sse.ts';
import { createMcpServer } from './mcp-server.ts';
import { createSessionHandler, type McpSession } from './mcp-transport.ts';
import { resourceMetrics, resourceRouteOf, type ResourceMetrics } from './metrics.ts';
import { createOriginPolicy } from './origin.ts';
import { protectedResourceMetadata, protectedResourceMetadataUrl } from './protected-resource-metadata.ts';
import { missingScopeChallenge } from './scope-check.ts';
import { SessionStore } from './sessions.ts';
import { StatelessHttpTransport } from './stateless-transport.ts';
import { demoTools } from './tools/index.ts';
import type { ToolRegistry } from './tools/registry.ts';
import { challengeHeader, type Challenge } from './www-authenticate.ts';

export interface ResourceServerOptions {
  logger?: Logger;
  /** The tools to serve; defaults to the demo tools. */
  tools?: ToolRegistry;
}

export interface ResourceServer {
  /** Mount or listen: `listen(app, port, host)` from common/http-server.ts. */
  app: Koa;
  /** Ends every session and the shared stateless server; call after the HTTP server stopped accepting. */
  close(): Promise<void>;
  metrics: ResourceMetrics;
}

/**
 * Builds the resource server: the MCP endpoint at the resource URL's path (Streamable HTTP,
 * with sessions or stateless), the legacy HTTP+SSE endpoints beside it (/sse, /messages), the
 * Protected Resource Metadata (RFC 9728) and /healthz.
 *
 * Every MCP request goes: CORS → Origin check (403) → token (401) → body (400/413/415) →
 * scopes of the tools it calls (403) → the SDK.
 *
 * @example
 * const { app, close } = createResourceServer(loadConfig());
 * const server = await listen(app, config.port, config.host);
 */
export function createResourceServer(config: ResourceServerConfig, options: ResourceServerOptions = {}): ResourceServer {
  const log = options.logger ?? createLogger({ name: 'resource-server', level: config.logLevel, pretty: false });
  const registry = options.tools ?? demoTools;
  const resource = new URL(config.resourceUrl);
  const mcpPath = resource.pathname;
  const legacyBase = mcpPath.slice(0, mcpPath.lastIndexOf('/'));
  const ssePath = `${legacyBase}/sse`;
  const messagesPath = `${legacyBase}/messages`;
  const prmUrl = protectedResourceMetadataUrl(config.resourceUrl);
  const prmPaths = new Set([new URL(prmUrl).pathname, '/.well-known/oauth-protected-resource']);
  const prmBody = JSON.stringify(protectedResourceMetadata(config, registry.scopes));
  /** The public URL of each MCP path: what a DPoP proof's htu must name. */
  const publicUrls = new Map([mcpPath, ssePath, messagesPath].map((path) => [path, new URL(path, resource).href]));

  // Sessions are created below; the gauge reads them lazily when scraped.
  let sessionCount = () => 0;
  const metrics = resourceMetrics(() => sessionCount());
  const verify = createBearerVerifier({
    onJwksFetch: metrics.jwksFetched,
    // At most one line per JWKS cooldown (failed discoveries are not retried sooner).
    onKeyDiscoveryError: (error) => {
      if (error instanceof ForeignJwksUriError) log.error({ issuer: error.issuer, jwks_uri: error.jwksUri }, error.message);
      else log.warn({ issuer: config.issuer, err: error.cause ?? error }, error.message);
    },
    issuer: config.issuer,
    audience: config.resourceUrl,
    jwksUrl: config.jwksUrl,
    fetchTimeoutMs: config.fetchTimeoutMs,
    jwksCooldownMs: config.jwksCooldownMs,
    cacheSize: config.tokenCacheSize,
    clockToleranceSec: config.clockToleranceSec,
  });
  const isAllowedOrigin = createOriginPolicy(config);
  const sessions = new SessionStore<McpSession>({
    idleTtlMs: config.sessionIdleTtlMs,
    maxSessions: config.maxSessions,
    maxSessionsPerSubject: config.maxSessionsPerUser,
    maxSessionsPerClient: config.maxSessionsPerClient,
    maxSessionsPerIp: config.maxSessionsPerIp,
  });
  sessionCount = () => sessions.size;
  const handleSession = createSessionHandler(registry, sessions);
  const legacy = createLegacySse(registry, sessions, messagesPath);
  const stateless = config.stateless ? new StatelessHttpTransport() : undefined;
  const statelessServer = stateless ? createMcpServer(registry) : undefined;
  const ready = stateless && statelessServer ? statelessServer.connect(stateless) : Promise.resolve();

  if (config.authDisabled) {
    log.warn(
      '!!! MCP_AUTH_DISABLED is set: every MCP request is served WITHOUT a token, as "anonymous" with every scope. ' +
        'Never expose this server beyond your machine. !!!',
    );
  }
  if (!config.client) {
    log.warn(
      { features_off: ['token introspection', 'token exchange', 'revocation feed'] },
      'RS_CLIENT_ID and RS_CLIENT_SECRET are not set: this resource server has no client at the auth server, so token introspection, ' +
        'token exchange and the revocation feed are off (access tokens are verified locally as JWTs only)',
    );
  }
  // A user (sub differs from client_id), so tools that need a user can be tried too.
  const anonymous: AuthInfo = { token: '', clientId: 'auth-disabled', scopes: [...registry.scopes], extra: { sub: 'anonymous', roles: [] } };

  /** Answers 401/403 with the challenge, and writes the audit line (the caller, when known). */
  const refuse = (ctx: Context, status: 401 | 403, challenge: Omit<Challenge, 'resourceMetadata'>, caller?: AuthInfo) => {
    const full: Challenge = { ...challenge, resourceMetadata: prmUrl };
    if (!challenge.error && registry.basicScopes.length > 0) full.scope = registry.basicScopes.join(' ');
    if (challenge.scheme === 'DPoP') full.algs = DPOP_ALGORITHMS;
    metrics.refused(status, challenge.error, challenge.description);
    ctx.status = status;
    ctx.set('WWW-Authenticate', challengeHeader(full));
    ctx.body = challenge.error ? { error: challenge.error, error_description: challenge.description, scope: challenge.scope } : { error: 'unauthorized' };
    const event = status === 403 ? 'step_up.required' : challenge.error ? 'token.rejected' : 'token.missing';
    // No token at all is every client's normal first request (the challenge starts its sign-in): info, not warn.
    log[event === 'token.missing' ? 'info' : 'warn'](
      { audit: true, event, path: ctx.path, status, error: challenge.error, reason: challenge.description, scope: challenge.scope, sub: caller?.extra?.sub, client_id: caller?.clientId, ip: ctx.ip },
      'mcp request refused',
    );
  };

  async function authenticate(ctx: Context): Promise<AuthInfo | undefined> {
    if (config.authDisabled) return anonymous;
    // RFC 6750 §2.3 (query) and §2.2 (form body) are not supported: tokens in URLs end up in logs.
    if (/(?:^|&)access_token=/.test(ctx.querystring)) {
      refuse(ctx, 401, { scheme: 'Bearer', error: 'invalid_token', description: 'tokens are accepted only in the Authorization header' });
      return undefined;
    }
    try {
      return await verify({
        authorization: ctx.get('Authorization') || undefined,
        dpop: ctx.get('DPoP') || undefined,
        method: ctx.method,
        url: publicUrls.get(ctx.path)!,
      });
    } catch (error) {
      if (error instanceof AuthError) refuse(ctx, error.status, error.challenge);
      else {
        log.error({ err: error }, 'token verification failed unexpectedly');
        refuse(ctx, 401, { scheme: 'Bearer', error: 'invalid_token', description: 'token could not be verified' });
      }
      return undefined;
    }
  }

  async function mcp(ctx: Context): Promise<void> {
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
    const route = ctx.path === mcpPath ? 'mcp' : ctx.path === ssePath && ctx.method === 'GET' ? 'sse' : ctx.path === messagesPath && ctx.method === 'POST' ? 'messages' : undefined;
    if (!route) {
      ctx.status = 405;
      ctx.set('Allow', ctx.path === ssePath ? 'GET' : ctx.path === messagesPath ? 'POST' : 'GET, POST, DELETE');
      return;
    }
    const auth = await authenticate(ctx);
    if (!auth) return;
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
        refuse(ctx, 403, { scheme, error: 'insufficient_scope', scope }, auth);
        return;
      }
    }
    log.info(
      { sub: subject, client_id: auth.clientId, methods: body === undefined ? [ctx.method] : methodsIn(body), session: ctx.get('Mcp-Session-Id') || undefined, path: ctx.path },
      'mcp request',
    );
    // From here the SDK writes the Node response itself; headers set so far (CORS) stay on it.
    (ctx.req as typeof ctx.req & { auth?: AuthInfo }).auth = auth;
    ctx.respond = false;
    const owner = { subject, clientId: auth.clientId, ip: ctx.ip };
    if (route === 'sse') return legacy.open(ctx.res, owner);
    if (route === 'messages') return legacy.post(ctx.req, ctx.res, body, owner);
    if (!stateless) return handleSession(ctx.req, ctx.res, body, owner);
    if (ctx.method === 'POST') {
      await ready;
      return stateless.handle(ctx.req, ctx.res, body, auth);
    }
    // Stateless: no standalone stream to GET and no session to DELETE (transport spec allows 405).
    ctx.respond = true;
    ctx.status = 405;
    ctx.set('Allow', 'POST');
    ctx.body = new JsonRpcHttpError(405, -32000, 'Method not allowed: this server is stateless').body;
  }

  // maxIpsCount 1: only the last X-Forwarded-For entry is the proxy's; earlier ones are the client's.
  const app = new Koa({ proxy: config.trustProxy, maxIpsCount: 1 });
  const corsForMcp = mcpCors(isAllowedOrigin);
  const corsForMetadata = publicCors();

  app.use(async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (error) {
      // Our bug, never the client's: log it, answer without details.
      log.error({ err: error, path: ctx.path }, 'unhandled error');
      if (ctx.respond === false && ctx.res.headersSent) return void ctx.res.end();
      ctx.respond = true;
      ctx.status = 500;
      ctx.body = { error: 'server_error' };
    }
  });

  app.use(metrics.http(resourceRouteOf({ mcp: mcpPath, sse: ssePath, messages: messagesPath, metadata: prmPaths })));
  app.use(metricsEndpoint(metrics.registry, config.metricsAllow));

  app.use(async (ctx: Context, next: Next) => {
    const path = ctx.path;
    if (path === mcpPath || path === ssePath || path === messagesPath) return corsForMcp(ctx, () => mcp(ctx));
    if (prmPaths.has(path)) {
      return corsForMetadata(ctx, async () => {
        if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return void ((ctx.status = 405), ctx.set('Allow', 'GET'));
        ctx.type = 'application/json';
        ctx.set('Cache-Control', 'public, max-age=300');
        ctx.body = prmBody;
      });
    }
    if (path === '/healthz' && ctx.method === 'GET') {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { status: 'ok' };
      return;
    }
    if (path === '/' && ctx.method === 'GET') {
      ctx.type = 'text/plain';
      ctx.body = documentation(config.resourceUrl, prmUrl, ssePath, registry);
      return;
    }
    await next();
  });

  return {
    app,
    metrics,
    async close() {
      await sessions.closeAll();
      await statelessServer?.close();
    },
  };
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

/** The page `resource_documentation` points at by default: what this server is and how to use it. */
function documentation(resourceUrl: string, prmUrl: string, ssePath: string, registry: ToolRegistry): string {
  const tools = registry.tools.map(
    (t) => `  - ${t.name} (scopes: ${t.requiredScopes.join(' ')}${t.requiredRoles.length ? `; roles: ${t.requiredRoles.join(' ')}` : ''}${t.requiresUser ? '; users only' : ''})`,
  );
  return [
    'MCP resource server (mcp-oauth-stack)',
    '',
    `MCP endpoint (Streamable HTTP): ${resourceUrl}`,
    `Legacy HTTP+SSE endpoint:       ${new URL(ssePath, resourceUrl).href}`,
    `Protected Resource Metadata:    ${prmUrl}`,
    '',
    'Send an OAuth access token from the authorization server in the Authorization header.',
    'Tools:',
    ...tools,
    '',
  ].join('\n');
}
