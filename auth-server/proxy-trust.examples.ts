/** Type-checked examples for proxy-trust.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import type { Logger } from '../common/logger.ts';
import type { AuthServerConfig } from './config.ts';
import { untrustedProxyWarning, warnAboutProxyTrust } from './proxy-trust.ts';

export function warnAboutProxyTrustExample(config: AuthServerConfig, logger: Logger) {
  //#region warnAboutProxyTrust
  warnAboutProxyTrust(config, logger);
  //#endregion warnAboutProxyTrust
}

export function untrustedProxyWarningExample(app: Koa, config: AuthServerConfig, logger: Logger) {
  //#region untrustedProxyWarning
  app.use(untrustedProxyWarning(config, logger));
  //#endregion untrustedProxyWarning
}
