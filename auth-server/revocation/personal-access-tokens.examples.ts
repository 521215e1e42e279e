/** Type-checked examples for personal-access-tokens.ts (its JSDoc shows these regions). */
import type { Account } from '../storage/store.ts';
import {
  createPersonalAccessToken,
  listPersonalAccessTokens,
  revokePersonalAccessToken,
  type PatContext,
} from './personal-access-tokens.ts';

export async function createPersonalAccessTokenExample(ctx: PatContext, admin: Account) {
  //#region createPersonalAccessToken
  const { token } = await createPersonalAccessToken(ctx, {
    username: 'alice',
    name: 'nightly build',
    scope: 'mcp:tools',
    expiresInDays: 30,
    actor: `admin:${admin.id}`,
  });
  //#endregion createPersonalAccessToken
  return token;
}

export async function listPersonalAccessTokensExample(ctx: PatContext) {
  //#region listPersonalAccessTokens
  for (const pat of await listPersonalAccessTokens(ctx, 'alice')) console.log(pat.name, pat.lastUsedAt);
  //#endregion listPersonalAccessTokens
}

export async function revokePersonalAccessTokenExample(ctx: PatContext, admin: Account) {
  //#region revokePersonalAccessToken
  await revokePersonalAccessToken(ctx, 'alice', 'nightly build', `admin:${admin.id}`);
  //#endregion revokePersonalAccessToken
}
