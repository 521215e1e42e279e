/** Type-checked examples for revocations.ts (its JSDoc shows these regions). */
import type { Account } from '../storage/store.ts';
import { disableAccount, disableClient, revokeGrant, type RevocationContext } from './revocations.ts';

export async function revokeGrantExample(ctx: RevocationContext, grantId: string, admin: Account) {
  //#region revokeGrant
  await revokeGrant(ctx, grantId, `admin:${admin.id}`);
  //#endregion revokeGrant
}

export async function disableAccountExample(ctx: RevocationContext, admin: Account) {
  //#region disableAccount
  const { account } = await disableAccount(ctx, 'alice', `admin:${admin.id}`);
  //#endregion disableAccount
  return account;
}

export async function disableClientExample(ctx: RevocationContext, admin: Account) {
  //#region disableClient
  await disableClient(ctx, 'mc_nightly-report', `admin:${admin.id}`);
  //#endregion disableClient
}
