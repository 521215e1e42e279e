import Koa from 'koa';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { createLogger, type Logger } from '../common/logger.ts';
import { metricsEndpoint } from '../common/metrics.ts';
import { errorBoundary, logAppErrors } from '../common/request-log.ts';
import { createBearerVerifier } from './bearer.ts';
import type { ResourceServerConfig } from './config.ts';
import { ForeignJwksUriError } from './issuer-keys.ts';
import { createLegacySse } from './legacy-sse.ts';
import { createMcpServer } from './mcp-server.ts';
import { mcpRoutes } from './mcp-routes.ts';
import { createSessionHandler, type McpSession } from './mcp-transport.ts';
import { createModernEntry } from './modern-entry.ts';
import { resourceMetrics, resourceRouteOf, type ResourceMetrics } from './metrics.ts';
import { notFound } from './not-found.ts';
import { createOriginPolicy } from './origin.ts';
import { createTokenGate } from './require-token.ts';
import { createPatVerifier, PAT_PREFIX } from './personal-access-tokens.ts';
import { refusalTally } from './refusal-tally.ts';
import { createRevocationFeed, type RevocationFeed } from './revocation-feed.ts';
import { servedResources } from './served-resources.ts';
import { SessionStore } from './sessions.ts';
import { StatelessHttpTransport } from './stateless-transport.ts';
import { streamLifetime } from './stream-lifetime.ts';
import { applyToolPolicy } from './tool-policy.ts';
import { demoTools } from './tools/index.ts';
import type { ToolRegistry } from './tools/registry.ts';

export interface ResourceServerOptions {
  logger?: Logger;
  /** The tools to serve; defaults to the demo tools. */
  tools?: ToolRegistry;
  /** Silence before a keep-alive comment on an MCP answer or stream (15 s; tests shorten it). */
  sseKeepAliveMs?: number;
}

export interface ResourceServer {
  /** Mount or listen: `listen(app, port, host)` from common/http-server.ts. */
  app: Koa;
  /** Ends every session and the shared stateless server; call after the HTTP server stopped accepting. */
  close(): Promise<void>;
  metrics: ResourceMetrics;
  /** The revocation feed when there is one (RS_CLIENT_ID): tests pull it now instead of waiting a poll. */
  revocationFeed?: RevocationFeed | undefined;
}

/**
 * Builds the resource server: the MCP endpoint at the resource URL's path (Streamable HTTP,
 * with sessions or stateless), the legacy HTTP+SSE endpoints beside it (/sse, /messages, a
 * resource of their own), the Protected Resource Metadata of each (RFC 9728) and /healthz.
 * This function only wires the parts: the token gate is require-token.ts, the routes and the
 * request pipeline are mcp-routes.ts, the URLs served are served-resources.ts.
 *
 * ```ts source="./app.examples.ts#createResourceServer"
 * const config = loadConfig();
 * const { app, close } = createResourceServer(config);
 * const server = await listen(app, config.port, config.host);
 * // on shutdown: stop accepting, then end the sessions
 * await server.close();
 * await close();
 * ```
 */
export function createResourceServer(config: ResourceServerConfig, options: ResourceServerOptions = {}): ResourceServer {
  const log = options.logger ?? createLogger({ name: 'resource-server', level: config.logLevel, pretty: false });
  const tools = options.tools ?? demoTools;
  const registry = config.toolPolicy ? applyToolPolicy(tools, config.toolPolicy) : tools;
  const resources = servedResources(config);

  // Sessions are created below; the gauge reads them lazily when scraped.
  let sessionCount = () => 0;
  // The revocation feed and PAT introspection need this server's own client at the auth server.
  const client = config.authDisabled ? undefined : config.client;
  // Refusals reach the auth server's dashboard with the feed's pulls (only when there is a feed).
  const refusals = client ? refusalTally() : undefined;
  const feed: RevocationFeed | undefined = client
    ? createRevocationFeed({
        url: `${config.authInternalUrl}/revocations`,
        client,
        pollMs: config.revocationPollSeconds * 1000,
        maxStalenessMs: config.revocationMaxStalenessSeconds === undefined ? undefined : config.revocationMaxStalenessSeconds * 1000,
        // A pull is off the request path: it may take longer than a key fetch, but not past the next poll.
        timeoutMs: Math.min(5_000, config.revocationPollSeconds * 1000),
        log,
        refusals,
      })
    : undefined;
  const metrics = resourceMetrics(
    () => sessionCount(),
    feed ? () => ({ ageSeconds: feed.ageSeconds(), entries: feed.size() }) : undefined,
    refusals && ((status, error) => refusals.count(status, error)),
  );
  const verify = createBearerVerifier({
    personalAccessTokens: client
      ? {
          prefix: PAT_PREFIX,
          verify: createPatVerifier({
            introspectionUrl: `${config.authInternalUrl}/token/introspection`,
            issuer: config.issuer,
            client,
            // Never longer than a poll: a revocation arrives through the feed or the next introspection.
            cacheMs: config.revocationPollSeconds * 1000,
            timeoutMs: Math.max(config.fetchTimeoutMs, 2_000),
          }),
        }
      : undefined,
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
  const sessions = new SessionStore<McpSession>({
    idleTtlMs: config.sessionIdleTtlMs,
    maxSessions: config.maxSessions,
    maxSessionsPerSubject: config.maxSessionsPerUser,
    maxSessionsPerClient: config.maxSessionsPerClient,
    maxSessionsPerIp: config.maxSessionsPerIp,
  });
  sessionCount = () => sessions.size;
  const stateless = config.stateless ? new StatelessHttpTransport({ keepAliveMs: options.sseKeepAliveMs }) : undefined;
  const statelessServer = stateless ? createMcpServer(registry) : undefined;
  const modern = createModernEntry(registry);

  if (config.authDisabled) {
    log.warn(
      '!!! MCP_AUTH_DISABLED is set: every MCP request is served WITHOUT a token, as "anonymous" with every scope. ' +
        'Never expose this server beyond your machine. !!!',
    );
  }
  if (!config.client) {
    log.warn(
      { features_off: ['personal access tokens', 'token exchange', 'revocation feed'] },
      'RS_CLIENT_ID and RS_CLIENT_SECRET are not set: this resource server has no client at the auth server, so personal access tokens, ' +
        'token exchange and the revocation feed are off (access tokens are verified locally as JWTs only, and stay valid until they expire)',
    );
  }
  // A user (sub differs from client_id), so tools that need a user can be tried too.
  const anonymous: AuthInfo = {
    token: '',
    clientId: 'auth-disabled',
    scopes: [...registry.scopes],
    extra: { sub: 'anonymous', roles: [] },
  };
  const gate = createTokenGate({
    verify,
    resources,
    metrics,
    log,
    anonymous: config.authDisabled ? anonymous : undefined,
    // A failed key fetch is not retried sooner than the cooldown (issuer-keys.ts): no point coming back earlier.
    retryAfterSec: Math.max(1, Math.ceil(config.jwksCooldownMs / 1000)),
    challengeScopes: registry.basicScopes,
    revocations: feed,
  });
  feed?.start();
  const routes = mcpRoutes({
    config,
    registry,
    resources,
    gate,
    isAllowedOrigin: createOriginPolicy(config),
    log,
    handleSession: createSessionHandler(registry, sessions, { keepAliveMs: options.sseKeepAliveMs }),
    modern,
    legacy: createLegacySse(registry, sessions, resources.paths.messages),
    bindToToken: streamLifetime({ feed, log, toleranceSec: Math.min(config.clockToleranceSec, 30) }),
    stateless: stateless && statelessServer ? { transport: stateless, ready: statelessServer.connect(stateless) } : undefined,
  });

  // maxIpsCount 1: only the last X-Forwarded-For entry is the proxy's; earlier ones are the client's.
  const app = new Koa({ proxy: config.trustProxy, maxIpsCount: 1 });
  logAppErrors(app, log);
  app.use(errorBoundary(log));
  const { paths } = resources;
  app.use(
    metrics.http(resourceRouteOf({ mcp: paths.mcp, sse: paths.sse, messages: paths.messages, metadata: new Set(paths.metadata.keys()) })),
  );
  app.use(metricsEndpoint(metrics.registry, config.metricsAllow));
  app.use(routes.routes());
  // Last: whatever no route served.
  app.use(notFound(resources, log));

  return {
    app,
    metrics,
    revocationFeed: feed,
    async close() {
      await feed?.stop();
      await sessions.closeAll();
      await statelessServer?.close();
      await modern.close();
      // A gateway's upstreams outlive the stateless and per-request servers: end them here.
      await (registry as Partial<{ close(): Promise<void> }>).close?.();
    },
  };
}
