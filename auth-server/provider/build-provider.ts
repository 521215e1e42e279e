import Provider from 'oidc-provider';
import type { Logger } from '../../common/logger.ts';
import { findAccountFor } from '../accounts/claims.ts';
import type { AuthServerConfig } from '../config.ts';
import { registerIdJagGrant } from '../enterprise/id-jag-grant.ts';
import { idJagExchangeHandler } from '../enterprise/token-exchange-grant.ts';
import type { Pages } from '../interactions/pages.ts';
import type { SigningJwk } from '../keys/key-store.ts';
import type { AuthMetrics } from '../metrics.ts';
import { createAdapterFactory } from '../storage/adapter.ts';
import type { Storage } from '../storage/store.ts';
import type { TokenVault } from '../upstream/token-vault.ts';
import { vaultExchangeHandler, type VaultExchangeDeps } from '../upstream/vault-exchange.ts';
import { auditEvents } from './audit-events.ts';
import { compareHashedClientSecrets } from './client-secret-hash.ts';
import { providerConfiguration } from './configuration.ts';
import { tolerateUnsavedSessions } from './session-persist.ts';
import { registerTokenExchange } from './token-exchange.ts';
import { keepClientsThatGetTokens } from './unused-clients.ts';
import { recordClientDeletion, recordGrantRevocation, type RevocationContext } from '../revocation/revocations.ts';

export interface ProviderBuildDeps {
  config: AuthServerConfig;
  storage: Storage;
  cookieKeys: string[];
  pages: Pages;
  prefix: string;
  audit: Logger;
  metrics: AuthMetrics;
  /** The token vault and its upstreams (with their clients), when some upstream has storeTokens. */
  vault?: { vault: TokenVault; upstreams: VaultExchangeDeps['upstreams'] } | undefined;
  /** Where oidc-provider's own grant revocations and client deletions are fed (revocation/revocations.ts). */
  revocation?: RevocationContext | undefined;
}

/**
 * One oidc-provider with everything we hang on it: configuration, proxy trust, session and client
 * hooks, audit events, metrics, extra grants. A key rotation builds a new one with the new `jwks`
 * (provider/live-provider.ts): oidc-provider reads its keys only at construction. Building anew is
 * sound because a provider keeps no state of its own that a request needs later: grants, tokens,
 * sessions and interactions are in the adapter, and the cookie keys are the same; the hooks below
 * are per instance, which is why they are all registered here and nowhere else.
 *
 * ```ts source="./build-provider.examples.ts#buildProvider"
 * const provider = buildProvider(deps, { keys: jwks });
 * ```
 */
export function buildProvider(deps: ProviderBuildDeps, jwks: { keys: SigningJwk[] }): Provider {
  const { config, storage, audit } = deps;
  const provider = new Provider(
    config.issuer,
    providerConfiguration({
      config,
      jwks,
      cookieKeys: deps.cookieKeys,
      adapter: createAdapterFactory(storage.models, {
        unusedClientTtl: config.unusedClientTtl,
        // The adapter is where every grant oidc-provider revokes passes: there it feeds resource servers.
        ...(deps.revocation ? revocationHooks(deps.revocation) : {}),
      }),
      findAccount: findAccountFor(storage.accounts),
      accounts: storage.accounts,
      pages: deps.pages,
      prefix: deps.prefix,
    }),
  );
  provider.proxy = config.trustProxy;
  tolerateUnsavedSessions(provider);
  compareHashedClientSecrets(provider);
  keepClientsThatGetTokens(provider, storage.models);
  auditEvents(provider, audit, storage.accounts);
  deps.metrics.observe(provider);
  if (config.trustedIdps.length) {
    registerIdJagGrant(provider, {
      issuer: config.issuer,
      idps: config.trustedIdps,
      resources: config.resources,
      accounts: storage.accounts,
      locks: storage.locks,
      audit,
    });
  }
  // Both exchanges verify or sign with this provider's keys, so they are rebuilt with it at a rotation.
  registerTokenExchange(provider, {
    // ID-JAGs are signed with the active ES256 key: providerJwks puts it first.
    idJag: config.idJagTargets.length
      ? idJagExchangeHandler({ issuer: config.issuer, targets: config.idJagTargets, keys: jwks, accounts: storage.accounts, audit })
      : undefined,
    vault: deps.vault
      ? vaultExchangeHandler({
          issuer: config.issuer,
          upstreams: deps.vault.upstreams,
          vault: deps.vault.vault,
          keys: jwks,
          accounts: storage.accounts,
          locks: storage.locks,
          audit,
        })
      : undefined,
  });
  return provider;
}

function revocationHooks(revocation: RevocationContext) {
  return {
    onGrantRevoked: (grantId: string) => recordGrantRevocation(revocation, grantId),
    onClientDeleted: (clientId: string) => recordClientDeletion(revocation, clientId),
  };
}
