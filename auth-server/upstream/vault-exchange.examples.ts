/** Type-checked examples for vault-exchange.ts (its JSDoc shows these regions). */
import type Provider from 'oidc-provider';
import type { Logger } from '../../common/logger.ts';
import type { SigningJwk } from '../keys/key-store.ts';
import { registerTokenExchange } from '../provider/token-exchange.ts';
import type { Storage } from '../storage/store.ts';
import type { TokenVault } from './token-vault.ts';
import { upstreamClient } from './upstream-client.ts';
import type { UpstreamProvider } from './upstream-config.ts';
import { vaultExchangeHandler } from './vault-exchange.ts';

export function vaultExchangeHandlerExample(
  provider: Provider,
  issuer: string,
  github: UpstreamProvider,
  vault: TokenVault,
  keys: { jwks: { keys: SigningJwk[] } },
  storage: Storage,
  audit: Logger,
) {
  //#region vaultExchangeHandler
  const upstreams = [{ provider: github, client: upstreamClient(github, `${issuer}/upstream/github/callback`) }];
  registerTokenExchange(provider, {
    vault: vaultExchangeHandler({ issuer, upstreams, vault, keys: keys.jwks, accounts: storage.accounts, locks: storage.locks, audit }),
  });
  //#endregion vaultExchangeHandler
}
