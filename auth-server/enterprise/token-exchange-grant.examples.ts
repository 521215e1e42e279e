/** Type-checked examples for token-exchange-grant.ts (its JSDoc shows these regions). */
import type Provider from 'oidc-provider';
import type { Logger } from '../../common/logger.ts';
import type { AuthServerConfig } from '../config.ts';
import type { SigningJwk } from '../keys/key-store.ts';
import { registerTokenExchange } from '../provider/token-exchange.ts';
import type { AccountStore } from '../storage/store.ts';
import { idJagExchangeHandler } from './token-exchange-grant.ts';

export function idJagExchangeHandlerExample(
  provider: Provider,
  config: AuthServerConfig,
  issuer: string,
  keys: { jwks: { keys: SigningJwk[] } },
  accounts: AccountStore,
  audit: Logger,
) {
  //#region idJagExchangeHandler
  registerTokenExchange(provider, {
    idJag: idJagExchangeHandler({ issuer, targets: config.idJagTargets, keys: keys.jwks, accounts, audit }),
  });
  //#endregion idJagExchangeHandler
}
