import { z } from 'zod';
import { ConfigError } from '../common/config-error.ts';
import { LOOPBACK } from '../common/http-server.ts';
import { flag, httpUrl, issuerUrl, list, logFormat, logLevel, nodeEnv, port, withoutEmpty } from '../common/env-schema.ts';
import { Secret } from './secret.ts';
import type { UpstreamConfig } from './gateway/upstream.ts';
import { readToolPolicy, type ToolPolicy } from './tool-policy.ts';

/**
 * The resource server's whole configuration surface: every setting, its environment variable,
 * its default and why it exists. Nothing else in resource-server/ reads process.env.
 */
export interface ResourceServerConfig {
  /** RS_PORT (3001): TCP port to listen on; 0 picks a free one (tests). */
  port: number;
  /**
   * RS_HOST: bind address. Default: loopback only (127.0.0.1 and ::1, `localhost`) outside
   * production, so MCP_AUTH_DISABLED or a development setup never reaches the network by accident;
   * every interface (undefined) in production. 0.0.0.0 opens it up (containers need it).
   */
  host: string | undefined;
  /**
   * RS_RESOURCE_URL (http://localhost:$RS_PORT/mcp): the public URL of the MCP endpoint. It is the
   * RFC 8707 resource identifier: tokens must carry it in `aud`, the Protected Resource Metadata
   * publishes it as `resource`, and the MCP route is mounted at its path. Its sibling path `sse`
   * (…/mcp → …/sse) is the legacy HTTP+SSE endpoint's own resource; outside production a loopback
   * URL's other spellings (localhost, 127.0.0.1, [::1]) are served too (served-resources.ts).
   */
  resourceUrl: string;
  /** AUTH_ISSUER (http://localhost:${AUTH_PORT:-3000}): the only issuer whose tokens are accepted (`iss`). */
  issuer: string;
  /**
   * AUTH_JWKS_URL (unset = discovered from the issuer's metadata): where to fetch the issuer's keys
   * when the issuer's public URL is not reachable from here (docker compose, split DNS), or when
   * the keys live on another origin. Discovery accepts a jwks_uri on the issuer's own origin only
   * (a poisoned metadata document must not choose our keys); anywhere else needs this setting.
   */
  jwksUrl: string | undefined;
  /** AUTH_FETCH_TIMEOUT_MS (500): bound on each metadata/JWKS fetch, so a down auth server costs < 1 s. */
  fetchTimeoutMs: number;
  /**
   * RS_JWKS_COOLDOWN_MS (5000): minimum time between two JWKS refetches triggered by unknown
   * `kid`s, so garbage tokens cannot make us hammer the auth server (at most one fetch per
   * cooldown), while a key rotated in shortly after a fetch is picked up within seconds.
   */
  jwksCooldownMs: number;
  /** RS_TOKEN_CACHE_SIZE (10000): successful verifications kept (by Authorization header), never past `exp`. */
  tokenCacheSize: number;
  /** RS_CLOCK_TOLERANCE_S (30, at most 30): allowed clock skew for exp/nbf/iat and DPoP proof `iat`. */
  clockToleranceSec: number;
  /** MCP_STATELESS (off): no sessions, so any instance behind a load balancer can answer any request. */
  stateless: boolean;
  /** MCP_SESSION_IDLE_TTL_MS (30 min): a session with no request for this long is closed. */
  sessionIdleTtlMs: number;
  /**
   * MCP_MAX_SESSIONS (1000): cap on open sessions (Streamable HTTP + legacy SSE); more → 503. The
   * three caps below are each a caller's own (→ 429) and stay well under it, so one caller can
   * fill its share but never the whole server.
   */
  maxSessions: number;
  /** MCP_MAX_SESSIONS_PER_USER (50): one subject's cap, so one user cannot take every slot; more → 429. */
  maxSessionsPerUser: number;
  /**
   * MCP_MAX_SESSIONS_PER_CLIENT (250, a quarter of the default total): one client_id's cap over
   * all its users, so one app (or one machine client) cannot take every slot; more → 429. Raise
   * it when a single app brings more concurrent users than that.
   */
  maxSessionsPerClient: number;
  /**
   * MCP_MAX_SESSIONS_PER_IP (100, a tenth of the default total): one client address's cap; more →
   * 429. Each machine client is a subject and a client of its own, so only this bounds one party
   * holding many clients. The address is the TCP peer, or with RS_TRUST_PROXY the one the proxy
   * adds to X-Forwarded-For: behind a proxy, set RS_TRUST_PROXY, or every caller shares the
   * proxy's address and this cap. Raise it for many users behind one NAT.
   */
  maxSessionsPerIp: number;
  /**
   * MCP_ALLOWED_ORIGINS (comma list): browser origins allowed to call the MCP endpoints (DNS
   * rebinding defence) and to read them through CORS. Empty in development = any localhost,
   * 127.0.0.1 or [::1] origin; empty in production = only the resource URL's own origin.
   */
  allowedOrigins: string[];
  /** MCP_AUTH_DISABLED (off): serve MCP without tokens, for trying a client. Refused in production. */
  authDisabled: boolean;
  /** RS_TRUST_PROXY (off): trust X-Forwarded-* (client IP in logs) when behind a reverse proxy. */
  trustProxy: boolean;
  /** RS_RESOURCE_NAME: human-readable `resource_name` in the Protected Resource Metadata. */
  resourceName: string;
  /** RS_RESOURCE_DOCUMENTATION (this server's root page): `resource_documentation` in the metadata. */
  resourceDocumentation: string;
  /** METRICS_ALLOW (nobody): client ips allowed to GET /metrics on the main port. */
  metricsAllow: string[];
  /** RS_METRICS_PORT (unset): a separate port serving /metrics to whoever reaches it (do not publish it). */
  metricsPort: number | undefined;
  /**
   * RS_CLIENT_ID and RS_CLIENT_SECRET (unset; set both or neither): this resource server's own
   * confidential client at the auth server, which identifies it there: it pulls the revocation
   * feed and introspects personal access tokens with them. Without them one warning at start
   * names the features that stay off. The secret is a {@link Secret}, so logging the config
   * cannot leak it; neither value is ever logged.
   */
  client: { id: string; secret: Secret } | undefined;
  /**
   * AUTH_INTERNAL_URL (AUTH_ISSUER): the issuer's URL as this server reaches it, when the public
   * one is not reachable from here (docker compose: http://auth-server:3000). The revocation feed
   * (<url>/revocations) and PAT introspection (<url>/token/introspection) are fetched there.
   */
  authInternalUrl: string;
  /**
   * RS_REVOCATION_POLL_SECONDS (10): how often the revocation feed is pulled (revocation-feed.ts).
   * A revoked grant, disabled user or client, or revoked personal access token is refused here
   * at most this long (plus one request to the auth server) after it happened.
   */
  revocationPollSeconds: number;
  /**
   * RS_REVOCATION_MAX_STALENESS (unset: never): seconds after the last successful pull of the
   * revocation feed from which every token is refused (503), instead of served on a list that
   * may miss revocations. Unset, a down auth server never takes this server down: the feed only
   * adds refusals, so a stale list serves tokens that were revoked meanwhile, until they expire
   * (AUTH_ACCESS_TOKEN_TTL). Set it when that window is worse than an outage.
   */
  revocationMaxStalenessSeconds: number | undefined;
  /**
   * MCP_TOOLS_MODULE (unset): a module
   * RS_UPSTREAM_USERINFO (unset): `id=URL` pairs, comma separated, naming upstream identity
   * providers (their AUTH_UPSTREAMS id, with storeTokens) and the userinfo URL of each. With it
   * (and RS_CLIENT_ID/RS_CLIENT_SECRET) the demo tools gain `upstream_profile`, which exchanges the
   * caller's token at the auth server for their kept upstream token (RFC 8693) and reads that
   * URL with it. The URLs are this server's own knowledge of the APIs it calls; the auth server
   * publishes nothing for it.
   */
  upstreamUserinfo: { id: string; url: string }[];
  /**
   * MCP_TOOLS_MODULE (unset): a module (path, relative to the working directory) whose tools are
   * served instead of the demo tools: your own tools without forking (tools-module.ts).
   */
  toolsModule: string | undefined;
  /**
   * MCP_TOOL_POLICY (unset): a JSON file of rules giving tools (exact names or `*` globs) their
   * scopes, roles or `deny`; first match wins, else its default (tool-policy.ts). Read and
   * validated at start, so a broken policy stops the server instead of leaving tools unguarded.
   */
  toolPolicy: ToolPolicy | undefined;
  /**
   * MCP_UPSTREAM_URL (a Streamable HTTP MCP server) or MCP_UPSTREAM_COMMAND with MCP_UPSTREAM_ARGS
   * (a JSON array) and MCP_UPSTREAM_ENV (names of variables passed on; PATH and HOME always):
   * gateway mode, serving that server's tools instead of ours, behind everything this server does
   * (gateway/). Unset: our own tools. MCP_UPSTREAM_TIMEOUT_MS (10 min) bounds each request to
   * the upstream, its initialize included: a hung upstream costs the client a JSON-RPC error after
   * that long, not a request open forever. Long, because tools may legitimately run for minutes.
   */
  upstream: UpstreamConfig | undefined;
  /**
   * MCP_UPSTREAM_IDENTITY (none): how the upstream learns who calls. `headers`: X-MCP-User-Sub,
   * X-MCP-Client-Id, X-MCP-Scopes and X-MCP-Roles on each HTTP request; `env`: MCP_USER_SUB,
   * MCP_CLIENT_ID and MCP_ROLES in a stdio upstream's environment (one process per caller, fixed
   * for its life, so no scopes: a step-up changes them); `jwt`: our own short-lived ES256 JWT as
   * an HTTP upstream's bearer token (sub, client_id, scope, roles; iss = RS_RESOURCE_URL), its
   * public key at /.well-known/upstream-jwks.json (gateway/upstream-jwt.ts). Never the client's token.
   */
  upstreamIdentity: 'none' | 'headers' | 'env' | 'jwt';
  /** MCP_UPSTREAM_AUDIENCE (the upstream URL): the `aud` of the upstream JWTs (MCP_UPSTREAM_IDENTITY=jwt). */
  upstreamAudience: string | undefined;
  /**
   * MCP_UPSTREAM_JWT_KEY_FILE (unset = a new key at each start): a PKCS#8 PEM P-256 private key
   * for the upstream JWTs. Set it when several instances serve one URL, so every instance's
   * JWTs verify against the same published key.
   */
  upstreamJwtKeyFile: string | undefined;
  /** LOG_LEVEL (info). */
  logLevel: string;
  /** LOG_FORMAT (unset = pretty in a terminal outside production): json or pretty. */
  logFormat: 'json' | 'pretty' | undefined;
  /** NODE_ENV (development). */
  nodeEnv: 'development' | 'production' | 'test';
}

const positiveInt = (fallback: number) =>
  z.coerce.number({ message: 'must be a number' }).int('must be an integer').positive('must be positive').default(fallback);

/**
 * Every environment variable the resource server reads. The README's configuration table is
 * checked against its keys (config-table.test.ts).
 */
export const resourceServerEnv = z.object({
  RS_PORT: port(3001),
  RS_HOST: z.string().trim().optional(),
  METRICS_ALLOW: list,
  RS_METRICS_PORT: z.coerce.number({ message: 'must be a number' }).int().min(0).max(65535).optional(),
  RS_RESOURCE_URL: httpUrl.optional(),
  AUTH_PORT: port(3000),
  AUTH_ISSUER: issuerUrl.optional(),
  AUTH_JWKS_URL: httpUrl.optional(),
  AUTH_FETCH_TIMEOUT_MS: positiveInt(500),
  RS_JWKS_COOLDOWN_MS: z.coerce.number({ message: 'must be a number' }).int().min(0, 'must be ≥ 0').default(5_000),
  RS_TOKEN_CACHE_SIZE: z.coerce.number({ message: 'must be a number' }).int().min(0, 'must be ≥ 0').default(10_000),
  RS_CLOCK_TOLERANCE_S: z.coerce.number({ message: 'must be a number' }).int().min(0).max(30, 'must be at most 30').default(30),
  MCP_STATELESS: flag(false),
  MCP_SESSION_IDLE_TTL_MS: positiveInt(30 * 60_000),
  MCP_MAX_SESSIONS: positiveInt(1000),
  MCP_MAX_SESSIONS_PER_USER: positiveInt(50),
  MCP_MAX_SESSIONS_PER_CLIENT: positiveInt(250),
  MCP_MAX_SESSIONS_PER_IP: positiveInt(100),
  MCP_ALLOWED_ORIGINS: list.pipe(
    z.array(
      z.string().refine((o) => URL.canParse(o) && new URL(o).origin === o, 'each entry must be an origin like https://app.example.com'),
    ),
  ),
  MCP_AUTH_DISABLED: flag(false),
  RS_TRUST_PROXY: flag(false),
  RS_RESOURCE_NAME: z.string().trim().default('mcp-oauth-stack demo MCP server'),
  RS_RESOURCE_DOCUMENTATION: httpUrl.optional(),
  RS_CLIENT_ID: z.string().trim().min(1, 'must not be blank').optional(),
  // Not trimmed: a secret is compared byte for byte by the auth server.
  RS_CLIENT_SECRET: z.string().optional(),
  AUTH_INTERNAL_URL: httpUrl.optional(),
  RS_REVOCATION_POLL_SECONDS: z.coerce
    .number({ message: 'must be a number' })
    .positive('must be positive')
    .max(3600, 'must be at most 3600')
    .default(10),
  RS_REVOCATION_MAX_STALENESS: z.coerce.number({ message: 'must be a number' }).positive('must be positive').optional(),
  RS_UPSTREAM_USERINFO: list.pipe(
    z.array(
      z
        .string()
        .regex(
          /^[a-z0-9][a-z0-9_-]{0,31}=https?:\/\/\S+$/,
          'each entry must be <upstream id>=<userinfo URL>, e.g. github=https://api.github.com/user',
        )
        .refine((entry) => URL.canParse(entry.slice(entry.indexOf('=') + 1)), 'each URL must be an absolute http(s) URL'),
    ),
  ),
  MCP_TOOLS_MODULE: z.string().trim().optional(),
  MCP_TOOL_POLICY: z.string().trim().optional(),
  MCP_UPSTREAM_URL: httpUrl.optional(),
  MCP_UPSTREAM_COMMAND: z.string().trim().min(1).optional(),
  MCP_UPSTREAM_ARGS: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return [];
      try {
        const parsed = z.array(z.string()).safeParse(JSON.parse(text));
        if (parsed.success) return parsed.data;
      } catch {
        // reported below
      }
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of strings, e.g. ["server.js","--stdio"]' });
      return z.NEVER;
    }),
  MCP_UPSTREAM_ENV: list.pipe(z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'each entry must be a variable name'))),
  MCP_UPSTREAM_IDENTITY: z.enum(['none', 'headers', 'env', 'jwt']).default('none'),
  MCP_UPSTREAM_AUDIENCE: z.string().trim().min(1, 'must not be blank').optional(),
  MCP_UPSTREAM_JWT_KEY_FILE: z.string().trim().min(1, 'must not be blank').optional(),
  MCP_UPSTREAM_TIMEOUT_MS: positiveInt(10 * 60_000),
  LOG_LEVEL: logLevel,
  LOG_FORMAT: logFormat,
  NODE_ENV: nodeEnv,
});

/**
 * Reads the environment into a {@link ResourceServerConfig}.
 *
 * ```ts source="./config.examples.ts#loadConfig"
 * const config = loadConfig({ RS_PORT: '0', AUTH_ISSUER: 'http://127.0.0.1:4000' });
 * ```
 *
 * @throws ConfigError listing every problem at once.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ResourceServerConfig {
  const raw = withoutEmpty(env);
  const parsed = resourceServerEnv.safeParse(raw);
  // Collect every problem, including the cross-setting ones, so one run shows them all.
  const problems = parsed.success ? [] : ConfigError.fromZod(parsed.error).problems;
  if (flag(false).safeParse(raw.MCP_AUTH_DISABLED).data === true && raw.NODE_ENV === 'production') {
    problems.push('MCP_AUTH_DISABLED: refused with NODE_ENV=production (it serves every tool without a token)');
  }
  // Names only, never the values: one of them is a secret.
  if ((raw.RS_CLIENT_ID === undefined) !== (raw.RS_CLIENT_SECRET === undefined)) {
    problems.push(
      raw.RS_CLIENT_ID === undefined
        ? 'RS_CLIENT_SECRET: set RS_CLIENT_ID too (they identify this server together)'
        : 'RS_CLIENT_ID: set RS_CLIENT_SECRET too (they identify this server together)',
    );
  }
  if (!parsed.success) throw new ConfigError(problems);
  const e = parsed.data;
  if (e.RS_REVOCATION_MAX_STALENESS !== undefined && e.RS_REVOCATION_MAX_STALENESS <= e.RS_REVOCATION_POLL_SECONDS) {
    problems.push('RS_REVOCATION_MAX_STALENESS: must be longer than RS_REVOCATION_POLL_SECONDS, or every poll would be late');
  }
  if (e.RS_REVOCATION_MAX_STALENESS !== undefined && e.RS_CLIENT_ID === undefined) {
    problems.push(
      'RS_REVOCATION_MAX_STALENESS: needs RS_CLIENT_ID/RS_CLIENT_SECRET (without them there is no feed, and every token would be refused)',
    );
  }
  if (e.RS_UPSTREAM_USERINFO.length > 0 && e.RS_CLIENT_ID === undefined) {
    problems.push('RS_UPSTREAM_USERINFO: needs RS_CLIENT_ID and RS_CLIENT_SECRET (the token exchange authenticates as this server)');
  }
  const resourceUrl = e.RS_RESOURCE_URL ?? `http://localhost:${e.RS_PORT}/mcp`;
  const resource = new URL(resourceUrl);
  // The SDK client normalises the resource with new URL().href; a URL that changes under that
  // (default port, upper case) would never match `aud` exactly.
  if (resource.href !== resourceUrl) problems.push(`RS_RESOURCE_URL: must be written in normal form (${resource.href})`);
  if (resource.pathname === '/') problems.push('RS_RESOURCE_URL: must have a path for the MCP endpoint, e.g. /mcp');
  if (e.MCP_UPSTREAM_URL !== undefined && e.MCP_UPSTREAM_COMMAND !== undefined) {
    problems.push('MCP_UPSTREAM_URL: set it or MCP_UPSTREAM_COMMAND, not both');
  }
  if ((e.MCP_UPSTREAM_URL ?? e.MCP_UPSTREAM_COMMAND) !== undefined && e.MCP_TOOLS_MODULE !== undefined) {
    problems.push('MCP_TOOLS_MODULE: a gateway (MCP_UPSTREAM_URL/COMMAND) serves the upstream tools, not a module');
  }
  const identityFits = {
    none: true,
    headers: e.MCP_UPSTREAM_URL !== undefined,
    jwt: e.MCP_UPSTREAM_URL !== undefined,
    env: e.MCP_UPSTREAM_COMMAND !== undefined,
  };
  if (!identityFits[e.MCP_UPSTREAM_IDENTITY]) {
    problems.push(
      `MCP_UPSTREAM_IDENTITY: ${e.MCP_UPSTREAM_IDENTITY} needs ${e.MCP_UPSTREAM_IDENTITY === 'env' ? 'MCP_UPSTREAM_COMMAND' : 'MCP_UPSTREAM_URL'}`,
    );
  }
  if (e.MCP_UPSTREAM_IDENTITY !== 'jwt') {
    for (const name of ['MCP_UPSTREAM_AUDIENCE', 'MCP_UPSTREAM_JWT_KEY_FILE'] as const) {
      if (e[name] !== undefined) problems.push(`${name}: only used with MCP_UPSTREAM_IDENTITY=jwt`);
    }
  }
  let toolPolicy: ToolPolicy | undefined;
  try {
    toolPolicy = e.MCP_TOOL_POLICY === undefined ? undefined : readToolPolicy(e.MCP_TOOL_POLICY);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port: e.RS_PORT,
    host: e.RS_HOST ?? (e.NODE_ENV === 'production' ? undefined : LOOPBACK),
    resourceUrl,
    issuer: e.AUTH_ISSUER ?? `http://localhost:${e.AUTH_PORT}`,
    jwksUrl: e.AUTH_JWKS_URL,
    fetchTimeoutMs: e.AUTH_FETCH_TIMEOUT_MS,
    jwksCooldownMs: e.RS_JWKS_COOLDOWN_MS,
    tokenCacheSize: e.RS_TOKEN_CACHE_SIZE,
    clockToleranceSec: e.RS_CLOCK_TOLERANCE_S,
    stateless: e.MCP_STATELESS,
    sessionIdleTtlMs: e.MCP_SESSION_IDLE_TTL_MS,
    maxSessions: e.MCP_MAX_SESSIONS,
    maxSessionsPerUser: e.MCP_MAX_SESSIONS_PER_USER,
    maxSessionsPerClient: e.MCP_MAX_SESSIONS_PER_CLIENT,
    maxSessionsPerIp: e.MCP_MAX_SESSIONS_PER_IP,
    allowedOrigins: e.MCP_ALLOWED_ORIGINS,
    authDisabled: e.MCP_AUTH_DISABLED,
    trustProxy: e.RS_TRUST_PROXY,
    resourceName: e.RS_RESOURCE_NAME,
    resourceDocumentation: e.RS_RESOURCE_DOCUMENTATION ?? new URL('/', resource).href,
    metricsAllow: e.METRICS_ALLOW,
    metricsPort: e.RS_METRICS_PORT,
    client:
      e.RS_CLIENT_ID !== undefined && e.RS_CLIENT_SECRET !== undefined
        ? { id: e.RS_CLIENT_ID, secret: new Secret(e.RS_CLIENT_SECRET) }
        : undefined,
    authInternalUrl: (e.AUTH_INTERNAL_URL ?? e.AUTH_ISSUER ?? `http://localhost:${e.AUTH_PORT}`).replace(/\/$/, ''),
    revocationPollSeconds: e.RS_REVOCATION_POLL_SECONDS,
    revocationMaxStalenessSeconds: e.RS_REVOCATION_MAX_STALENESS,
    upstreamUserinfo: e.RS_UPSTREAM_USERINFO.map((entry) => ({
      id: entry.slice(0, entry.indexOf('=')),
      url: entry.slice(entry.indexOf('=') + 1),
    })),
    toolsModule: e.MCP_TOOLS_MODULE,
    toolPolicy,
    upstream:
      e.MCP_UPSTREAM_URL !== undefined
        ? { kind: 'http', url: e.MCP_UPSTREAM_URL, timeoutMs: e.MCP_UPSTREAM_TIMEOUT_MS }
        : e.MCP_UPSTREAM_COMMAND !== undefined
          ? {
              kind: 'stdio',
              command: e.MCP_UPSTREAM_COMMAND,
              args: e.MCP_UPSTREAM_ARGS,
              env: e.MCP_UPSTREAM_ENV,
              timeoutMs: e.MCP_UPSTREAM_TIMEOUT_MS,
            }
          : undefined,
    upstreamIdentity: e.MCP_UPSTREAM_IDENTITY,
    upstreamAudience: e.MCP_UPSTREAM_IDENTITY === 'jwt' ? (e.MCP_UPSTREAM_AUDIENCE ?? e.MCP_UPSTREAM_URL) : undefined,
    upstreamJwtKeyFile: e.MCP_UPSTREAM_JWT_KEY_FILE,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    nodeEnv: e.NODE_ENV,
  };
}
