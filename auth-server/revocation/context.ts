import type { AuthServerConfig } from '../config.ts';
import type { PatContext } from './personal-access-tokens.ts';

/**
 * The context every function of revocations.ts and personal-access-tokens.ts takes, built from
 * the server's configuration: the server, the CLIs and the admin console build it the same way.
 *
 * ```ts source="./context.examples.ts#revocationContext"
 * const ctx = revocationContext(config, storage, logger.child({ audit: true }));
 * await disableAccount(ctx, 'alice', `admin:${admin.id}`);
 * ```
 */
export function revocationContext(
  config: Pick<AuthServerConfig, 'resources' | 'patMaxDays' | 'issuer'>,
  storage: PatContext['storage'],
  audit?: PatContext['audit'],
): PatContext {
  return {
    storage,
    // Client-credentials tokens get the same lifetime as the resource's (configuration.ts ttl).
    accessTokenTtlSeconds: Math.max(600, ...config.resources.map((r) => r.accessTokenTtl)),
    resources: config.resources,
    maxDays: config.patMaxDays,
    issuer: config.issuer,
    audit,
  };
}
