/** Type-checked examples for token-exchange.ts (its JSDoc shows these regions). */
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { registerTokenExchange } from './token-exchange.ts';

export function registerTokenExchangeExample(
  provider: Provider,
  idJagHandler: (ctx: KoaContextWithOIDC) => Promise<void>,
  vaultHandler: (ctx: KoaContextWithOIDC) => Promise<void>,
) {
  //#region registerTokenExchange
  registerTokenExchange(provider, { idJag: idJagHandler, vault: vaultHandler });
  //#endregion registerTokenExchange
}
