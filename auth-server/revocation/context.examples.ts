/** Type-checked examples for context.ts (its JSDoc shows these regions). */
import type { Logger } from '../../common/logger.ts';
import type { AuthServerConfig } from '../config.ts';
import type { Account, Storage } from '../storage/store.ts';
import { revocationContext } from './context.ts';
import { disableAccount } from './revocations.ts';

export async function revocationContextExample(config: AuthServerConfig, storage: Storage, logger: Logger, admin: Account) {
  //#region revocationContext
  const ctx = revocationContext(config, storage, logger.child({ audit: true }));
  await disableAccount(ctx, 'alice', `admin:${admin.id}`);
  //#endregion revocationContext
}
