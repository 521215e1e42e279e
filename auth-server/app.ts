import Koa from 'koa';
import type Provider from 'oidc-provider';
import type { Logger } from '../common/logger.ts';
import { metricsEndpoint } from '../common/metrics.ts';
import { errorBoundary, requestLog } from '../common/request-log.ts';
import { auditTrail, type AuditTrail } from './admin/audit-trail.ts';
import { adminRoutes } from './admin/routes.ts';
import type { AuthServerConfig } from './config.ts';
import { createPages } from './interactions/pages.ts';
import { interactionRoutes } from './interactions/routes.ts';
import { authMetrics, authRouteOf, type AuthMetrics } from './metrics.ts';
import { issuerUrls } from './provider/issuer-urls.ts';
import { metadataCaching } from './provider/metadata-caching.ts';
import { registrationCors } from './provider/registration-cors.ts';
import { untrustedProxyWarning, warnAboutProxyTrust } from './proxy-trust.ts';
import { ownRoutes } from './own-routes.ts';
import { deviceCodeLimits } from './security/device-code-limits.ts';
import { endpointLimits } from './security/endpoint-limits.ts';
import { loginThrottle } from './security/login-throttle.ts';
import { createRateLimiters } from './security/rate-limits.ts';
import { registrationDefaults } from './provider/registration-defaults.ts';
import { defaultScope } from './provider/default-scope.ts';
import { resourceParameter } from './provider/resource-parameter.ts';
import { refuseSectorIdentifier } from './provider/sector-identifier.ts';
import { tokenRequestLock } from './provider/token-request-lock.ts';
import type { EncryptionKeys } from './keys/secrets-at-rest.ts';
import type { SigningKeySet } from './keys/signing-key-set.ts';
import type { SigningKeys } from './keys/signing-keys.ts';
import { buildProvider } from './provider/build-provider.ts';
import { createLiveProvider, type LiveProvider } from './provider/live-provider.ts';
import { TOKEN_EXCHANGE } from './provider/token-exchange.ts';
import { tokenVault } from './upstream/token-vault.ts';
import { upstreamClient } from './upstream/upstream-client.ts';
import { callbackUrl, upstreamRoutes } from './upstream/upstream-routes.ts';
import { withRefreshContext } from './storage/adapter.ts';
import type { Storage } from './storage/store.ts';
import { revocationContext } from './revocation/context.ts';
import { revocationRoutes } from './revocation/feed-routes.ts';
import { accountSessions } from './account/account-session.ts';
import { tokenPageRoutes } from './account/token-routes.ts';

export interface AuthServer {
  app: Koa;
  /** The provider serving requests now; a key rotation replaces it (provider/live-provider.ts). */
  provider: () => Provider;
  /** The hot-swapping holder: `refresh()` checks the key store now, `stop()` ends its polling. */
  live: LiveProvider;
  metrics: AuthMetrics;
  /** The audit logger that also records to the store; flush() writes what is buffered. */
  audit: AuditTrail;
}

export interface AuthServerDeps {
  config: AuthServerConfig;
  storage: Storage;
  /** Cookie-signing secrets, kept with the signing keys (keys/signing-key-store.ts loadCookieKeys). */
  keys: { cookieKeys: string[] };
  /** The signing-key store and the set loaded at start (keys/signing-keys.ts). */
  signingKeys: { keys: SigningKeys; initial: SigningKeySet };
  logger: Logger;
  /** Epoch ms for the admin console's 10-minute rule (tests move it); default Date.now. */
  now?: () => number;
  /** The at-rest keys (upstream/token-vault.ts loadVaultKeys); required when an upstream has storeTokens. */
  encryption?: EncryptionKeys | undefined;
}

/**
 * Builds the auth server: oidc-provider mounted at the issuer's path inside a Koa app that adds
 * our interaction pages, health check, registration CORS and parameter hygiene.
 *
 * ```ts source="./app.examples.ts#createAuthServer"
 * const { app } = createAuthServer({ config, storage, keys, signingKeys, logger });
 * await listen(app, config.port);
 * ```
 */
export function createAuthServer({ config, storage, keys, signingKeys, logger, encryption, now }: AuthServerDeps): AuthServer {
  const prefix = new URL(config.issuer).pathname.replace(/\/$/, '');
  const pages = createPages({ issuer: config.issuer, assets: `${prefix}/assets` });
  // Every audit line is logged and recorded in the store's bounded audit table (the admin console).
  const trail = auditTrail(logger.child({ audit: true }), storage.audit);
  const audit = trail.logger;
  // With PostgreSQL, limits live in the database so every instance counts the same attempts.
  const limiters = config.rateLimits.enabled ? createRateLimiters(config.rateLimits, storage.postgres) : undefined;
  const revocation = revocationContext(config, storage, audit);
  const metrics = authMetrics();
  const vaulted = config.upstreams.filter((upstream) => upstream.storeTokens);
  if (vaulted.length && !encryption)
    throw new Error(`upstream ${vaulted[0]!.id} has storeTokens: createAuthServer needs the encryption keys`);
  const vault = vaulted.length ? tokenVault(storage.vault, encryption!) : undefined;
  // Built once, not per provider: openid-client caches each upstream's discovery.
  const vaultUpstreams = vaulted.map((upstream) => ({
    provider: upstream,
    client: upstreamClient(upstream, callbackUrl(config.issuer, upstream.id)),
  }));
  const live = createLiveProvider({
    keys: signingKeys.keys,
    initial: signingKeys.initial,
    build: (jwks) =>
      buildProvider(
        {
          config,
          storage,
          cookieKeys: keys.cookieKeys,
          pages,
          prefix,
          audit,
          metrics,
          vault: vault && { vault, upstreams: vaultUpstreams },
          revocation,
        },
        jwks,
      ),
    prefix,
    pollMs: config.signingKeys.pollMs,
    logger,
  });
  const provider = live.current;

  const app = new Koa();
  app.proxy = config.trustProxy;
  // Only the last X-Forwarded-For entry is the proxy's; earlier ones are whatever the client sent
  // (rate limits and the metrics allow-list key on ctx.ip).
  app.maxIpsCount = 1;
  // Must equal the provider's cookie keys, or interactionDetails cannot read its cookie.
  app.keys = keys.cookieKeys;
  app.silent = true;
  warnAboutProxyTrust(config, logger);
  app.use(errorBoundary(logger));
  // Before anything reads the request's URL: absolute URLs come from the issuer, never from Host.
  app.use(issuerUrls(config.issuer));
  app.use(untrustedProxyWarning(config, logger));
  app.use(metrics.http(authRouteOf));
  app.use(requestLog(logger));
  app.use(metricsEndpoint(metrics.registry, config.metrics.allow));
  app.use(ownRoutes(prefix, config, pages).routes());
  app.use(
    adminRoutes({
      provider,
      pages,
      storage,
      config,
      cookieKeys: keys.cookieKeys,
      trail,
      signingKeys: signingKeys.keys,
      live,
      revocation,
      prefix,
      now,
    }).routes(),
  );
  app.use(metadataCaching());

  const route = (name: string) => `${prefix}${name}`;
  // The revocation feed, and PAT introspection in front of oidc-provider's (revocation/).
  app.use(revocationRoutes({ provider, revocations: storage.revocations, refusals: storage.refusals, pats: revocation, prefix }).routes());
  // oidc-provider has no CORS on registration; scoping ours to /reg leaves its per-client CORS on /token intact.
  app.use(registrationCors(route('/reg')));
  app.use(registrationDefaults(route('/reg')));
  app.use(refuseSectorIdentifier(route('/reg'), { open: !config.registration.initialAccessToken }));
  app.use(
    resourceParameter(
      config.resources.map((r) => r.url),
      { authorization: route('/auth'), token: route('/token'), deviceAuthorization: route('/device/auth'), par: route('/request') },
      // Token exchange names another organisation's MCP server (enterprise/token-exchange-grant.ts).
      { foreignResourceGrants: [TOKEN_EXCHANGE] },
    ),
  );
  // After resourceParameter: reads the canonical resource (and the form it parsed).
  app.use(
    defaultScope(config.resources, { authorization: route('/auth'), par: route('/request'), deviceAuthorization: route('/device/auth') }),
  );
  app.use(endpointLimits(limiters, { registration: route('/reg'), token: route('/token') }));
  app.use(deviceCodeLimits(limiters, { path: route('/device'), sessionCookie: provider().cookieName('session'), pages, audit }));
  // After resourceParameter, which parses the token request's form this one reads.
  app.use(
    tokenRequestLock({
      tokenPath: route('/token'),
      locks: storage.locks,
      replays: storage.replays,
      graceSeconds: config.refreshGraceSeconds,
      prefetchRefresh: (token, clientId, next) => withRefreshContext(storage.models, token, clientId, next),
    }),
  );
  const throttle = loginThrottle(limiters, keys.cookieKeys[0]!);
  app.use(
    upstreamRoutes({
      provider,
      pages,
      accounts: storage.accounts,
      models: storage.models,
      upstreams: config.upstreams,
      issuer: config.issuer,
      prefix,
      audit,
      vault,
    }).routes(),
  );
  app.use(
    tokenPageRoutes({
      pats: revocation,
      sessions: accountSessions({ provider, cookieKeys: keys.cookieKeys, secure: config.issuer.startsWith('https://'), prefix }),
      pages,
      throttle,
      audit,
      prefix,
      localLogin: config.localLogin,
    }).routes(),
  );
  app.use(
    interactionRoutes({
      provider,
      pages,
      accounts: storage.accounts,
      resources: config.resources,
      cookieKeys: keys.cookieKeys,
      throttle,
      audit,
      prefix,
      onLogin: metrics.login,
      upstreams: config.upstreams,
      localLogin: config.localLogin,
    }).routes(),
  );
  app.use(live.middleware);
  return { app, provider, live, metrics, audit: trail };
}
