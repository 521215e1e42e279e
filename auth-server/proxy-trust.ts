import type { Middleware } from 'koa';
import type { Logger } from '../common/logger.ts';
import type { AuthServerConfig } from './config.ts';

/**
 * What goes wrong without AUTH_TRUST_PROXY behind a TLS-terminating proxy or tunnel: this
 * server sees plain http, so oidc-provider builds http:// endpoint URLs into the metadata and
 * refuses to set its Secure cookies, and /auth ends in "server_error — oops! something went
 * wrong". Nothing in the error names the cause, so we say it.
 */
const CONSEQUENCE = 'the metadata will name http:// endpoints and sign-in fails with server_error (its cookies are Secure)';

/**
 * At start: an https issuer always means a proxy in front (this server speaks only http).
 *
 * ```ts source="./proxy-trust.examples.ts#warnAboutProxyTrust"
 * warnAboutProxyTrust(config, logger);
 * ```
 */
export function warnAboutProxyTrust(config: Pick<AuthServerConfig, 'issuer' | 'trustProxy'>, log: Logger): void {
  if (config.trustProxy || !config.issuer.startsWith('https://')) return;
  log.warn(
    { issuer: config.issuer },
    `AUTH_ISSUER is https but AUTH_TRUST_PROXY is off: behind the proxy or tunnel that serves ${config.issuer}, ${CONSEQUENCE}. ` +
      'Set AUTH_TRUST_PROXY=1 (only when every request reaches this server through that proxy).',
  );
}

/**
 * At the first request that came through a proxy (X-Forwarded-Proto) while proxy trust is off:
 * one warning per process, saying what to set.
 *
 * ```ts source="./proxy-trust.examples.ts#untrustedProxyWarning"
 * app.use(untrustedProxyWarning(config, logger));
 * ```
 */
export function untrustedProxyWarning(config: Pick<AuthServerConfig, 'issuer' | 'trustProxy'>, log: Logger): Middleware {
  let warned = config.trustProxy;
  return async (ctx, next) => {
    const forwardedProto = !warned && ctx.get('X-Forwarded-Proto');
    if (forwardedProto) {
      warned = true;
      const proto = forwardedProto.split(',')[0]!.trim().toLowerCase();
      // Only characters a host name can have: the header is the client's to choose.
      const host = (ctx.get('X-Forwarded-Host') || ctx.get('Host'))
        .split(',')[0]!
        .trim()
        .replace(/[^A-Za-z0-9.:[\]-]/g, '');
      const issuerToo =
        proto === 'https' && !config.issuer.startsWith('https://') && host ? ` and AUTH_ISSUER=https://${host} (the public URL)` : '';
      log.warn(
        { x_forwarded_proto: proto, issuer: config.issuer },
        `A request came through a proxy (X-Forwarded-Proto: ${proto}) but AUTH_TRUST_PROXY is off: ${CONSEQUENCE}. ` +
          `Set AUTH_TRUST_PROXY=1${issuerToo}. (Shown once.)`,
      );
    }
    await next();
  };
}
