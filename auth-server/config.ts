import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../common/config-error.ts';
import { LOOPBACK } from '../common/http-server.ts';
import { flag, httpUrl, issuerUrl, list, logFormat, logLevel, nodeEnv, port, withoutEmpty } from '../common/env-schema.ts';
import { looksLikeAccountId } from './accounts/new-account.ts';
import { legacySseUrl, loopbackAliases } from '../common/resource-urls.ts';
import type { RateLimitSettings } from './security/rate-limits.ts';
import type { StorageOptions } from './storage/open-storage.ts';
import { loadIdJagTargets, type IdJagTarget } from './enterprise/id-jag-targets.ts';
import { loadTrustedIdps, type TrustedIdp } from './enterprise/trusted-idps.ts';
import { loadUpstreams, type UpstreamProvider } from './upstream/upstream-config.ts';

/**
 * One protected resource (an MCP server) this auth server issues access tokens for (RFC 8707).
 * Its scopes are configuration here (AUTH_RESOURCE_SCOPES), never read from the resource
 * server's code: the two servers share only the issuer URL, the resource URL and the JWKS.
 */
export interface ProtectedResourceConfig {
  /** The resource indicator, exactly as clients send it and as the token's `aud`. */
  url: string;
  /** Scopes a token for this resource may carry. */
  scopes: string[];
  /** Scopes an authorization request without `scope` gets for this resource (RFC 6749 §3.3). */
  defaultScopes: string[];
  /** Human name for the consent page. */
  name: string;
  /** Access-token lifetime in seconds. */
  accessTokenTtl: number;
}

/** Storage settings (dataDir, databaseUrl, databasePoolSize, sqliteSynchronous) come from StorageOptions. */
export interface AuthServerConfig extends StorageOptions {
  port: number;
  host: string | undefined;
  issuer: string;
  production: boolean;
  nodeEnv: 'development' | 'production' | 'test';
  keysDir: string;
  refreshGraceSeconds: number;
  logLevel: string;
  /** LOG_FORMAT: json or pretty; unset = pretty in a terminal outside production. */
  logFormat: 'json' | 'pretty' | undefined;
  trustProxy: boolean;
  resources: ProtectedResourceConfig[];
  registration: { initialAccessToken: string | undefined };
  cimd: { enabled: boolean; allowPrivateFetch: boolean };
  ttl: { grant: number; session: number; interaction: number; deviceCode: number; authorizationCode: number };
  sweepIntervalMs: number;
  /** Seconds after which a registered client that never got a token is pruned (undefined: never). */
  unusedClientTtl: number | undefined;
  createDemoUser: boolean;
  /** The resource server's own confidential client, upserted at start (undefined: none). */
  resourceServerClient: { clientId: string; secret: string } | undefined;
  /**
   * The resources of the resource server that client stands for: RS_RESOURCE_URL, its legacy
   * `…/sse` sibling and (outside production) their loopback aliases; not AUTH_EXTRA_RESOURCES.
   * Its token exchange accepts only subject tokens for these (upstream/vault-exchange.ts).
   */
  resourceServerResources: string[];
  rateLimits: RateLimitSettings;
  metrics: { allow: string[]; port: number | undefined };
  /** AUTH_CLIENT_ASSERTION_AUD_COMPAT: private_key_jwt assertions may name the token endpoint as `aud` too. */
  clientAssertionAudCompat: boolean;
  /** Identity providers people may sign in through (AUTH_UPSTREAMS); [] when none. */
  upstreams: UpstreamProvider[];
  /** Whether the login page offers username and password (AUTH_LOCAL_LOGIN). */
  localLogin: boolean;
  /** Enterprise IdPs whose ID-JAGs the jwt-bearer grant redeems (AUTH_TRUSTED_IDPS); [] when none (grant off). */
  trustedIdps: TrustedIdp[];
  /** Authorization servers our clients may get ID-JAGs for by token exchange (AUTH_ID_JAG_TARGETS); [] when none (grant off). */
  idJagTargets: IdJagTarget[];
  /** The key for secrets at rest (keys/secrets-at-rest.ts): AUTH_ENCRYPTION_KEY and AUTH_ENCRYPTION_KEY_PREVIOUS. */
  encryption: EncryptionSettings;
  /** AUTH_PAT_MAX_DAYS (90): the longest lifetime a personal access token may be given, in days (revocation/personal-access-tokens.ts). */
  patMaxDays: number;
  /** Signing keys (keys/signing-keys.ts): where they live, how often instances look for a rotation. */
  signingKeys: SigningKeySettings;
}

export interface SigningKeySettings {
  /** AUTH_KEY_STORE: KEYS_DIR/private-jwks.json, or the database (sealed with AUTH_ENCRYPTION_KEY). */
  store: 'file' | 'database';
  /** AUTH_KEY_POLL_SECONDS in ms: how often each instance checks the key set's generation. */
  pollMs: number;
  /** AUTH_KEY_MIN_NEXT_AGE in ms: how long a next key is published before `rotate` may make it sign. */
  minNextAgeMs: number;
}

/** AUTH_ENCRYPTION_KEY (undefined: generated in KEYS_DIR outside production) and the keys being rotated out. */
export interface EncryptionSettings {
  key: string | undefined;
  previous: string[];
}

const DAY = 24 * 60 * 60;

/** A space or comma separated scope list, each scope once; at least one. */
const scopeList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v) => [...new Set(v.split(/[\s,]+/).filter(Boolean))])
    .refine((scopes) => scopes.length > 0, 'must name at least one scope');

/** The auth server's own (OpenID Connect) scopes: never a resource's. */
const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email'];

/**
 * Every environment variable the auth server reads, with its default and a comment: the object
 * before any cross-field check. The README's configuration table is checked against its keys
 * (config-table.test.ts), and the CLIs pick their few fields from it.
 */
export const authServerEnv = z.object({
  /** Port the auth server listens on. */
  AUTH_PORT: port(3000),
  /**
   * Address to bind. Default: loopback only (127.0.0.1 and ::1) outside production, because a
   * development server has a demo admin and open registration; every interface in production.
   * 0.0.0.0 opens a development server to the network (containers need it).
   */
  AUTH_HOST: z.string().trim().optional(),
  /** The public issuer URL (what clients see; behind a TLS proxy, the https URL). */
  AUTH_ISSUER: issuerUrl.optional(),
  NODE_ENV: nodeEnv,
  /** Embedded SQLite lives here. */
  DATA_DIR: z.string().default('./data'),
  /** Private JWKS and cookie secrets live here (mode 0600). */
  KEYS_DIR: z.string().default('./keys'),
  /** SQLite durability: normal (survives a process crash) or full (also a power cut; slower). */
  AUTH_SQLITE_SYNCHRONOUS: z.enum(['normal', 'full'], { message: 'must be normal or full' }).default('normal'),
  /** postgres://… selects PostgreSQL storage instead of SQLite. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  /** PostgreSQL connections per auth-server instance (instances × this must fit max_connections). */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
  /** Seconds a refresh response is replayed to a duplicate of the same request (parallel refreshes); 0 = off. */
  AUTH_REFRESH_GRACE_SECONDS: z.coerce.number().int().min(0).max(60).default(5),
  LOG_LEVEL: logLevel,
  LOG_FORMAT: logFormat,
  /** Trust X-Forwarded-* from a TLS-terminating proxy. */
  AUTH_TRUST_PROXY: flag(false),
  /**
   * The MCP resource server's URL (the default resource). Its legacy HTTP+SSE endpoint, the
   * sibling path `sse` (…/mcp → …/sse), is accepted as a resource too, with the same scopes;
   * outside production so are the loopback aliases of a loopback URL (localhost, 127.0.0.1, [::1]).
   */
  RS_RESOURCE_URL: httpUrl.optional(),
  RS_PORT: port(3001),
  /** Extra resource URLs (comma separated) that accept the same scopes as RS_RESOURCE_URL. */
  AUTH_EXTRA_RESOURCES: list,
  /**
   * Scopes (space or comma separated) a token for RS_RESOURCE_URL (and AUTH_EXTRA_RESOURCES) may
   * carry: what the resource server publishes in its metadata's scopes_supported. Data, not
   * code shared with the resource server: a new tool's scope is added here when it is deployed.
   */
  AUTH_RESOURCE_SCOPES: scopeList('mcp:tools mcp:admin').refine(
    (scopes) => !scopes.some((scope) => OIDC_SCOPES.includes(scope)),
    `must not name the auth server's own scopes (${OIDC_SCOPES.join(', ')})`,
  ),
  /** Scopes (space or comma separated) granted to a request that names none, for each resource (RFC 6749 §3.3). */
  AUTH_DEFAULT_SCOPES: scopeList('mcp:tools'),
  /** Access-token lifetime in seconds (keep short: JWTs cannot be revoked). */
  AUTH_ACCESS_TOKEN_TTL: z.coerce.number().int().min(30).max(DAY).default(600),
  /**
   * Longest lifetime of a personal access token in days (npm run tokens, /account/tokens). A PAT
   * is checked by introspection at every use and revoked through the feed, so a long one is not
   * unrevocable, but a leaked one works until noticed: keep it as short as the scripts allow.
   */
  AUTH_PAT_MAX_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /** Lifetime of a grant in seconds: bounds the whole refresh-token chain. */
  AUTH_GRANT_TTL: z.coerce
    .number()
    .int()
    .min(60)
    .default(30 * DAY),
  /** Browser session lifetime in seconds. */
  AUTH_SESSION_TTL: z.coerce
    .number()
    .int()
    .min(60)
    .default(7 * DAY),
  /** When set, dynamic registration requires this initial access token (Bearer). */
  AUTH_INITIAL_ACCESS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * The resource server's own client id at this server (RS_CLIENT_SECRET with it). When both are
   * set, the auth server creates or updates that confidential client at start, marked as the
   * resource server: it may introspect every client's tokens (HTTP Basic at /token/introspection).
   */
  RS_CLIENT_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1–64 characters from A–Z a–z 0–9 . _ -')
    .optional(),
  /** Its secret (at least 32 characters); the resource server is configured with the same pair. */
  RS_CLIENT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Client ID Metadata Documents (URL client_ids). */
  AUTH_CIMD: flag(true),
  /**
   * Also accept private_key_jwt client assertions whose `aud` is the token endpoint URL (or an
   * array), as RFC 7523 first allowed; off, `aud` must be the issuer alone (RFC 7523bis), which
   * closes the audience-injection attacks on multi-valued audiences. Turn on only for a client
   * that cannot be changed (provider/client-assertion.ts).
   */
  AUTH_CLIENT_ASSERTION_AUD_COMPAT: flag(false),
  /** Days after which a registered client that never obtained a token is pruned (0: never). */
  AUTH_PRUNE_UNUSED_CLIENTS_DAYS: z.coerce.number().min(0).default(30),
  /** How often expired rows are swept, in seconds. */
  AUTH_SWEEP_INTERVAL: z.coerce.number().int().min(1).default(300),
  /** Client ips allowed to GET /metrics on the main port (comma list; default: nobody). */
  METRICS_ALLOW: list,
  /** A separate port serving /metrics to whoever reaches it (do not publish it). */
  AUTH_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Rate limits on login, registration and token requests; turn off only for benchmarks. */
  AUTH_RATE_LIMITS: flag(true),
  /** Failed logins per account and ip before a lock. */
  AUTH_LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).default(5),
  /** Seconds a login lock lasts. */
  AUTH_LOGIN_LOCK_SECONDS: z.coerce.number().int().min(1).default(900),
  /** Client registrations per ip per minute. */
  AUTH_REGISTRATIONS_PER_MINUTE: z.coerce.number().int().min(1).default(60),
  /** Token requests per client and ip per minute. */
  AUTH_TOKEN_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  /** Wrong device user codes per ip, and per browser session, before the device page answers 429 (RFC 8628 §5.1). */
  AUTH_DEVICE_CODE_MAX_FAILURES: z.coerce.number().int().min(1).default(10),
  /** The window those failures are counted in, in seconds; the lock ends with it. */
  AUTH_DEVICE_CODE_WINDOW_SECONDS: z.coerce.number().int().min(1).default(300),
  /**
   * Path of a JSON file listing upstream identity providers (OIDC or plain OAuth 2) people may
   * sign in through: "Continue with …" on the login page. Checked at start (upstream/upstream-config.ts).
   */
  AUTH_UPSTREAMS: z.string().trim().optional(),
  /** Username and password sign-in; off leaves only the upstream providers (needs AUTH_UPSTREAMS). */
  AUTH_LOCAL_LOGIN: flag(true),
  /**
   * Path of a JSON file listing enterprise identity providers whose ID-JAGs (Enterprise-Managed
   * Authorization) clients may redeem with the jwt-bearer grant. Unset: the grant is off.
   * Checked at start (enterprise/trusted-idps.ts).
   */
  AUTH_TRUSTED_IDPS: z.string().trim().optional(),
  /**
   * Path of a JSON file listing other authorization servers that trust this one as an enterprise
   * IdP: our confidential clients may exchange a user's ID token for an ID-JAG for them (RFC 8693).
   * Unset: token exchange is off. Checked at start (enterprise/id-jag-targets.ts).
   */
  AUTH_ID_JAG_TARGETS: z.string().trim().optional(),
  /**
   * 32 random bytes in base64: the key for everything the auth server encrypts at rest (vaulted
   * upstream tokens, signing keys kept in the database). Required in production where those are
   * used; elsewhere generated in KEYS_DIR on first start. Checked where it is loaded
   * (keys/secrets-at-rest.ts), so a bad key names itself.
   */
  AUTH_ENCRYPTION_KEY: z.string().trim().optional(),
  /**
   * Where the signing keys live: `file` (KEYS_DIR/private-jwks.json, one machine or a shared
   * volume) or `database` (the auth server's database, each private key sealed with
   * AUTH_ENCRYPTION_KEY: instances on several machines). Not implied by DATABASE_URL: switching
   * stores is a step (`npm run keys -- migrate --to database`), not a side effect.
   */
  AUTH_KEY_STORE: z.enum(['file', 'database'], { message: 'must be file or database' }).default('file'),
  /** Seconds between two checks of the key set by each instance: a rotation signs everywhere within this. */
  AUTH_KEY_POLL_SECONDS: z.coerce.number({ message: 'must be a number' }).min(0.1).max(300).default(5),
  /**
   * Seconds a next key must have been published before `rotate` may make it sign: longer than
   * AUTH_KEY_POLL_SECONDS + the JWKS's Cache-Control max-age (60) + the resource servers' JWKS
   * refetch cooldown, so nobody meets a kid they could not have fetched. `rotate --force` skips it.
   */
  AUTH_KEY_MIN_NEXT_AGE: z.coerce
    .number({ message: 'must be a number' })
    .min(0)
    .max(7 * DAY)
    .default(120),
  /** Comma-separated earlier values of AUTH_ENCRYPTION_KEY: they still decrypt, never encrypt (rotation). */
  AUTH_ENCRYPTION_KEY_PREVIOUS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
    ),
});

const schema = authServerEnv
  .superRefine((env, ctx) => {
    if ((env.RS_CLIENT_ID === undefined) !== (env.RS_CLIENT_SECRET === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.RS_CLIENT_ID ? 'RS_CLIENT_SECRET' : 'RS_CLIENT_ID'],
        message: 'RS_CLIENT_ID and RS_CLIENT_SECRET go together: set both or neither',
      });
    }
    if (env.RS_CLIENT_ID && looksLikeAccountId(env.RS_CLIENT_ID)) {
      // 22 characters of base64url is what an account id looks like; sub === client_id must mean "no user".
      ctx.addIssue({
        code: 'custom',
        path: ['RS_CLIENT_ID'],
        message: 'must not have the shape of an account id (22 characters of A–Z a–z 0–9 _ -)',
      });
    }
  })
  .transform((env) => {
    const production = env.NODE_ENV === 'production';
    const issuer = env.AUTH_ISSUER ?? `http://localhost:${env.AUTH_PORT}`;
    const defaultResource = env.RS_RESOURCE_URL ?? `http://localhost:${env.RS_PORT}/mcp`;
    // The MCP server's legacy HTTP+SSE endpoint (sibling path `sse`) is a resource of its own:
    // clients compare the metadata's `resource` with the URL they call (RFC 9728 §3.3).
    // In development the loopback spellings of a loopback RS_RESOURCE_URL (localhost, 127.0.0.1,
    // [::1]) are resources too: MCP Inspector runs on 127.0.0.1, and the resource server serves
    // each alias as its own resource. Production has one canonical URL.
    const mcpResources = [defaultResource, ...(production ? [] : loopbackAliases(defaultResource))];
    const sseResources = new Set(mcpResources.map(legacySseUrl));
    const resources = [...new Set([defaultResource, ...sseResources, ...mcpResources, ...env.AUTH_EXTRA_RESOURCES])].map((url) => ({
      url,
      scopes: env.AUTH_RESOURCE_SCOPES,
      defaultScopes: env.AUTH_DEFAULT_SCOPES,
      name: sseResources.has(url) ? 'MCP server (legacy HTTP+SSE endpoint)' : 'MCP server',
      accessTokenTtl: env.AUTH_ACCESS_TOKEN_TTL,
    }));
    return {
      port: env.AUTH_PORT,
      host: env.AUTH_HOST ?? (production ? undefined : LOOPBACK),
      issuer,
      production,
      nodeEnv: env.NODE_ENV,
      ...storageOptions(env),
      keysDir: resolve(env.KEYS_DIR),
      refreshGraceSeconds: env.AUTH_REFRESH_GRACE_SECONDS,
      logLevel: env.LOG_LEVEL,
      logFormat: env.LOG_FORMAT,
      trustProxy: env.AUTH_TRUST_PROXY,
      resources,
      registration: { initialAccessToken: env.AUTH_INITIAL_ACCESS_TOKEN },
      // Development fetches metadata documents from loopback so local clients can be tried;
      // production refuses private and loopback addresses (SSRF).
      cimd: { enabled: env.AUTH_CIMD, allowPrivateFetch: !production },
      ttl: {
        grant: env.AUTH_GRANT_TTL,
        session: env.AUTH_SESSION_TTL,
        interaction: 60 * 60,
        deviceCode: 10 * 60,
        authorizationCode: 60,
      },
      sweepIntervalMs: env.AUTH_SWEEP_INTERVAL * 1000,
      unusedClientTtl: env.AUTH_PRUNE_UNUSED_CLIENTS_DAYS > 0 ? Math.ceil(env.AUTH_PRUNE_UNUSED_CLIENTS_DAYS * DAY) : undefined,
      createDemoUser: !production,
      resourceServerClient:
        env.RS_CLIENT_ID && env.RS_CLIENT_SECRET ? { clientId: env.RS_CLIENT_ID, secret: env.RS_CLIENT_SECRET } : undefined,
      resourceServerResources: [...new Set([...mcpResources, ...sseResources])],
      metrics: { allow: env.METRICS_ALLOW, port: env.AUTH_METRICS_PORT },
      // Read by loadConfig, which reports the file's problems together with these.
      upstreams: [],
      trustedIdps: [],
      idJagTargets: [],
      localLogin: env.AUTH_LOCAL_LOGIN,
      encryption: { key: env.AUTH_ENCRYPTION_KEY, previous: env.AUTH_ENCRYPTION_KEY_PREVIOUS },
      signingKeys: {
        store: env.AUTH_KEY_STORE,
        pollMs: Math.round(env.AUTH_KEY_POLL_SECONDS * 1000),
        minNextAgeMs: Math.round(env.AUTH_KEY_MIN_NEXT_AGE * 1000),
      },
      clientAssertionAudCompat: env.AUTH_CLIENT_ASSERTION_AUD_COMPAT,
      patMaxDays: env.AUTH_PAT_MAX_DAYS,
      rateLimits: {
        enabled: env.AUTH_RATE_LIMITS,
        loginFailuresPerAccountIp: env.AUTH_LOGIN_MAX_FAILURES,
        // One place guessing many accounts, or many places guessing one account, get more room
        // than one pair, but not unlimited.
        loginFailuresPerIp: env.AUTH_LOGIN_MAX_FAILURES * 10,
        loginFailuresPerAccount: env.AUTH_LOGIN_MAX_FAILURES * 4,
        loginLockSeconds: env.AUTH_LOGIN_LOCK_SECONDS,
        registrationsPerIpPerMinute: env.AUTH_REGISTRATIONS_PER_MINUTE,
        tokenRequestsPerClientPerMinute: env.AUTH_TOKEN_REQUESTS_PER_MINUTE,
        deviceCodeFailures: env.AUTH_DEVICE_CODE_MAX_FAILURES,
        deviceCodeWindowSeconds: env.AUTH_DEVICE_CODE_WINDOW_SECONDS,
      },
    } satisfies AuthServerConfig;
  })
  .superRefine((config, ctx) => {
    // Every resource shares AUTH_DEFAULT_SCOPES today; report each bad scope once.
    const unknownDefaults = new Set(config.resources.flatMap((r) => r.defaultScopes.filter((scope) => !r.scopes.includes(scope))));
    for (const scope of unknownDefaults) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTH_DEFAULT_SCOPES'],
        message: `${scope} is not in AUTH_RESOURCE_SCOPES (${config.resources[0]!.scopes.join(', ')})`,
      });
    }
    for (const extra of config.resources.slice(1)) {
      if (!httpUrl.safeParse(extra.url).success) {
        ctx.addIssue({ code: 'custom', path: ['AUTH_EXTRA_RESOURCES'], message: `${extra.url} is not an absolute http(s) URL` });
      }
    }
    if (config.production && !config.issuer.startsWith('https://')) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_ISSUER'], message: 'must be an https URL when NODE_ENV=production' });
    }
  });

/**
 * Reads the auth server's whole configuration from the environment.
 *
 * ```ts source="./config.examples.ts#loadConfig"
 * const config = loadConfig(process.env); // throws ConfigError listing every problem
 * ```
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AuthServerConfig {
  const clean = withoutEmpty(env) as Record<string, string | undefined>;
  const parsed = schema.safeParse(clean);
  // The upstreams file is read even when the environment has problems: all are reported at once.
  const upstreams = loadUpstreams(clean.AUTH_UPSTREAMS, clean);
  // The trusted IdPs' resources are checked against ours, so a bad environment leaves nothing to check them against.
  const trustedIdps = loadTrustedIdps(clean.AUTH_TRUSTED_IDPS, parsed.success ? parsed.data.resources.map((r) => r.url) : []);
  const idJagTargets = loadIdJagTargets(clean.AUTH_ID_JAG_TARGETS);
  const problems = [
    ...(parsed.success ? [] : ConfigError.fromZod(parsed.error).problems),
    ...upstreams.problems,
    ...idJagTargets.problems,
    ...(parsed.success ? trustedIdps.problems : trustedIdps.problems.filter((p) => !p.includes('is not a resource this server protects'))),
  ];
  if (parsed.success && !parsed.data.localLogin && !clean.AUTH_UPSTREAMS) {
    problems.push('AUTH_LOCAL_LOGIN: off needs AUTH_UPSTREAMS, or nobody could sign in');
  }
  if (problems.length || !parsed.success) throw new ConfigError(problems);
  return { ...parsed.data, upstreams: upstreams.providers, trustedIdps: trustedIdps.idps, idJagTargets: idJagTargets.targets };
}

const storageEnv = authServerEnv.pick({ DATA_DIR: true, DATABASE_URL: true, DATABASE_POOL_SIZE: true, AUTH_SQLITE_SYNCHRONOUS: true });
const keysEnv = authServerEnv.pick({ KEYS_DIR: true });
const encryptionEnv = authServerEnv.pick({ AUTH_ENCRYPTION_KEY: true, AUTH_ENCRYPTION_KEY_PREVIOUS: true, NODE_ENV: true });

/** Typed by hand: inferring it from storageEnv would make the schema's own transform circular. */
function storageOptions(env: {
  DATA_DIR: string;
  DATABASE_URL?: string | undefined;
  DATABASE_POOL_SIZE: number;
  AUTH_SQLITE_SYNCHRONOUS: 'normal' | 'full';
}): StorageOptions {
  return {
    dataDir: resolve(env.DATA_DIR),
    databaseUrl: env.DATABASE_URL,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    sqliteSynchronous: env.AUTH_SQLITE_SYNCHRONOUS,
  };
}

/**
 * The storage settings alone, for the CLIs (`npm run users`): the same fields, defaults and checks
 * as the server, without requiring the rest of its configuration to be valid.
 *
 * ```ts source="./config.examples.ts#loadStorageConfig"
 * const storage = await openStorage(loadStorageConfig(process.env));
 * ```
 */
export function loadStorageConfig(env: NodeJS.ProcessEnv = process.env): StorageOptions {
  const parsed = storageEnv.safeParse(withoutEmpty(env));
  if (!parsed.success) throw ConfigError.fromZod(parsed.error);
  return storageOptions(parsed.data);
}

/**
 * KEYS_DIR alone, for tools that need only the key folder, resolved as the server resolves it.
 *
 * ```ts source="./config.examples.ts#loadKeysDir"
 * const cookieKeys = await loadOrCreateCookieKeys(loadKeysDir(process.env));
 * ```
 */
export function loadKeysDir(env: NodeJS.ProcessEnv = process.env): string {
  const parsed = keysEnv.safeParse(withoutEmpty(env));
  if (!parsed.success) throw ConfigError.fromZod(parsed.error);
  return resolve(parsed.data.KEYS_DIR);
}

/**
 * The at-rest key settings alone, for the CLIs that read or write encrypted values (`npm run keys`
 * with keys in the database): the same fields as the server.
 *
 * ```ts source="./config.examples.ts#loadEncryptionSettings"
 * const { encryption, production } = loadEncryptionSettings(process.env);
 * const keys = await loadEncryptionKeys({ ...encryption, keysDir: loadKeysDir(process.env), production });
 * ```
 */
export function loadEncryptionSettings(env: NodeJS.ProcessEnv = process.env): { encryption: EncryptionSettings; production: boolean } {
  const parsed = encryptionEnv.safeParse(withoutEmpty(env));
  if (!parsed.success) throw ConfigError.fromZod(parsed.error);
  return {
    encryption: { key: parsed.data.AUTH_ENCRYPTION_KEY, previous: parsed.data.AUTH_ENCRYPTION_KEY_PREVIOUS },
    production: parsed.data.NODE_ENV === 'production',
  };
}
