/** Type-checked examples for id-jag-grant.ts (its JSDoc shows these regions). */
import type Provider from 'oidc-provider';
import type { Logger } from '../../common/logger.ts';
import type { AuthServerConfig } from '../config.ts';
import type { AccountStore, LockStore } from '../storage/store.ts';
import { registerIdJagGrant } from './id-jag-grant.ts';

export function registerIdJagGrantExample(
  provider: Provider,
  config: AuthServerConfig,
  issuer: string,
  accounts: AccountStore,
  locks: LockStore,
  audit: Logger,
) {
  //#region registerIdJagGrant
  registerIdJagGrant(provider, { issuer, idps: config.trustedIdps, resources: config.resources, accounts, locks, audit });
  //#endregion registerIdJagGrant
}
