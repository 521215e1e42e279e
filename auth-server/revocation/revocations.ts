import { DISABLED } from '../provider/client-marks.ts';
import type { Account, RevocationEntry, Storage } from '../storage/store.ts';

/**
 * Every way a token stops being good before its `exp` goes through this module (or, for
 * oidc-provider's own grant revocations, through the adapter's revokeByGrantId, which calls
 * {@link recordGrantRevocation}): the CLIs, the self-service page, the admin console. Each
 * function does the store change and appends to the revocation feed in one place, so no path can
 * change the store and forget the feed. JWT access tokens are not stored, so without the feed a
 * resource server would keep accepting them until they expire.
 */

/** What the functions here need: the store, the longest access-token lifetime, an audit log. */
export interface RevocationContext {
  storage: Pick<Storage, 'models' | 'accounts' | 'revocations' | 'personalAccessTokens'>;
  /** The longest access-token lifetime (seconds): an entry is kept until every token it names has expired. */
  accessTokenTtlSeconds: number;
  /** Audit lines (a pino child with `audit: true`); none when undefined. */
  audit?: { info(object: object, message: string): void } | undefined;
  /** The clock, epoch ms (tests). */
  now?: () => number;
}

/**
 * Seconds an entry outlives the tokens it names: the resource server accepts a token up to its
 * clock tolerance (≤ 30 s) after `exp`, and instances' clocks differ a little.
 */
export const ENTRY_MARGIN_SECONDS = 60;

/** Thrown when the thing to revoke does not exist (unknown user or client). */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

function clock(ctx: RevocationContext): number {
  return (ctx.now ?? Date.now)();
}

/** Appends an entry for tokens that live at most the access-token lifetime from now. */
async function record(ctx: RevocationContext, type: RevocationEntry['type'], id: string, actor: string): Promise<void> {
  const at = clock(ctx);
  await ctx.storage.revocations.add({ type, id, at, until: at + (ctx.accessTokenTtlSeconds + ENTRY_MARGIN_SECONDS) * 1000 });
  ctx.audit?.info({ audit: true, event: 'revocation.recorded', type, id, actor }, `revoked ${type} ${id}`);
}

/**
 * Feeds a grant oidc-provider revoked (refresh-token revocation, reuse detection, code replay):
 * the adapter calls this after deleting the grant's stored tokens.
 */
export async function recordGrantRevocation(ctx: RevocationContext, grantId: string): Promise<void> {
  await record(ctx, 'grant', grantId, 'oidc-provider');
}

/**
 * Revokes one grant: its refresh tokens and codes are deleted, and its access tokens (which carry
 * `grant_id`) are refused by resource servers at their next feed poll.
 *
 * ```ts source="./revocations.examples.ts#revokeGrant"
 * await revokeGrant(ctx, grantId, `admin:${admin.id}`);
 * ```
 */
export async function revokeGrant(ctx: RevocationContext, grantId: string, actor: string): Promise<void> {
  await ctx.storage.models.revokeByGrantId(grantId);
  await ctx.storage.models.destroy('Grant', grantId);
  await record(ctx, 'grant', grantId, actor);
}

/**
 * Ends everything an account holds: its sessions, grants and refresh tokens are deleted, its
 * personal access tokens revoked, and the access tokens issued to it before now are refused by
 * resource servers. For a password change (whoever knew the old password may have made a PAT);
 * {@link disableAccount} and {@link removeAccount} call it too, so enabling an account again
 * brings none of its old credentials back. Returns how many stored rows went.
 */
export async function signOutAccount(ctx: RevocationContext, account: Pick<Account, 'id'>, actor: string): Promise<number> {
  // Feed first: if the deletes below fail half way, resource servers already refuse its tokens.
  await record(ctx, 'account', account.id, actor);
  let removed = 0;
  for (const pat of await ctx.storage.personalAccessTokens.list(account.id)) {
    if (!(await ctx.storage.personalAccessTokens.remove(account.id, pat.name))) continue;
    await recordPersonalAccessTokenRevocation(ctx, pat.id, pat.expiresAt, actor);
    removed++;
  }
  return removed + (await ctx.storage.models.revokeByAccountId(account.id));
}

/**
 * Disables an account (no sign-in, refresh or code exchange) and signs it out everywhere, as
 * `npm run users -- disable` does. The account as it is now and how many rows went; throws
 * NotFoundError for an unknown username.
 *
 * ```ts source="./revocations.examples.ts#disableAccount"
 * const { account } = await disableAccount(ctx, 'alice', `admin:${admin.id}`);
 * ```
 */
export async function disableAccount(
  ctx: RevocationContext,
  username: string,
  actor: string,
): Promise<{ account: Account; removed: number }> {
  // Disabled first, so no new login, refresh or code exchange succeeds while its grants go.
  const account = await ctx.storage.accounts.setDisabled(username, true);
  if (!account) throw new NotFoundError(`no account named "${username}"`);
  return { account, removed: await signOutAccount(ctx, account, actor) };
}

/**
 * Lets a disabled account sign in again. Its old tokens stay refused (the feed entry names tokens
 * issued before it was disabled); new ones work. Throws NotFoundError for an unknown username.
 */
export async function enableAccount(ctx: RevocationContext, username: string, actor: string): Promise<Account> {
  const account = await ctx.storage.accounts.setDisabled(username, false);
  if (!account) throw new NotFoundError(`no account named "${username}"`);
  ctx.audit?.info({ audit: true, event: 'account.enabled', sub: account.id, actor }, `enabled ${account.username}`);
  return account;
}

/** Deletes an account and everything it holds, its tokens refused as for a disabled one. Throws NotFoundError. */
export async function removeAccount(ctx: RevocationContext, username: string, actor: string): Promise<Account> {
  const account = await ctx.storage.accounts.findByUsername(username);
  if (!account) throw new NotFoundError(`no account named "${username}"`);
  // Before the account goes: its personal access tokens go with it (ON DELETE CASCADE) unfed.
  await signOutAccount(ctx, account, actor);
  if (!(await ctx.storage.accounts.remove(username))) throw new NotFoundError(`no account named "${username}"`);
  return account;
}

/**
 * Disables a client: oidc-provider no longer finds it (invalid_client everywhere), and resource
 * servers refuse the access tokens issued to it before now. Throws NotFoundError.
 *
 * ```ts source="./revocations.examples.ts#disableClient"
 * await disableClient(ctx, 'mc_nightly-report', `admin:${admin.id}`);
 * ```
 */
export async function disableClient(ctx: RevocationContext, clientId: string, actor: string): Promise<void> {
  await setClientDisabled(ctx, clientId, true);
  await record(ctx, 'client', clientId, actor);
}

/** Deletes a client (`npm run clients -- remove`); resource servers refuse the access tokens it had. Throws NotFoundError. */
export async function removeClient(ctx: RevocationContext, clientId: string, actor: string): Promise<void> {
  if (!(await ctx.storage.models.find('Client', clientId))) throw new NotFoundError(`no client ${clientId}`);
  await ctx.storage.models.destroy('Client', clientId);
  await record(ctx, 'client', clientId, actor);
}

/** Feeds a client oidc-provider deleted (RFC 7592 DELETE /reg/:id): the adapter calls this. */
export async function recordClientDeletion(ctx: RevocationContext, clientId: string): Promise<void> {
  await record(ctx, 'client', clientId, 'oidc-provider');
}

/** Enables a disabled client again; tokens it had before it was disabled stay refused. Throws NotFoundError. */
export async function enableClient(ctx: RevocationContext, clientId: string, actor: string): Promise<void> {
  await setClientDisabled(ctx, clientId, false);
  ctx.audit?.info({ audit: true, event: 'client.enabled', client_id: clientId, actor }, `enabled client ${clientId}`);
}

async function setClientDisabled(ctx: RevocationContext, clientId: string, disabled: boolean): Promise<void> {
  const payload = await ctx.storage.models.find('Client', clientId);
  if (!payload) throw new NotFoundError(`no client ${clientId}`);
  if (disabled) payload[DISABLED] = true;
  else delete payload[DISABLED];
  // Without a lifetime, as every operator client: a disabled client stays until removed.
  await ctx.storage.models.upsert('Client', clientId, payload, undefined);
}

/**
 * Records a revoked personal access token, kept until the token itself would have expired
 * (personal-access-tokens.ts calls this).
 */
export async function recordPersonalAccessTokenRevocation(
  ctx: RevocationContext,
  id: string,
  expiresAt: number,
  actor: string,
): Promise<void> {
  const at = clock(ctx);
  await ctx.storage.revocations.add({ type: 'pat', id, at, until: Math.max(at, expiresAt) + ENTRY_MARGIN_SECONDS * 1000 });
  ctx.audit?.info({ audit: true, event: 'revocation.recorded', type: 'pat', id, actor }, `revoked personal access token ${id}`);
}
