import type { Context } from 'koa';
import {
  createPersonalAccessToken,
  listPersonalAccessTokens,
  PersonalAccessTokenRequestError,
  revokePersonalAccessToken,
} from '../revocation/personal-access-tokens.ts';
import { NotFoundError } from '../revocation/revocations.ts';
import { PersonalAccessTokenExistsError, type Account } from '../storage/store.ts';
import { actorOf, field, recordAction, redirectBack, type ConsoleDeps, type ConsoleRoutes } from './console-page.ts';

/** What the user page shows of a user's personal access tokens, and the form to make one. */
export async function tokenSection(deps: ConsoleDeps, account: Account) {
  const resource = deps.revocation.resources[0];
  return {
    pats: await listPersonalAccessTokens(deps.revocation, account.username),
    patScopes: resource?.scopes ?? [],
    patResource: resource?.url,
    patMaxDays: deps.revocation.maxDays,
    patDefaultDays: Math.min(30, deps.revocation.maxDays),
  };
}

/** Refusals the data decides (bad name or scope, name taken, disabled user): shown on the page, 400. */
function refusal(error: unknown): string | undefined {
  const known = [PersonalAccessTokenRequestError, PersonalAccessTokenExistsError, NotFoundError];
  return known.some((kind) => error instanceof kind) ? (error as Error).message : undefined;
}

/**
 * Personal access tokens of any user (revocation/personal-access-tokens.ts): create (the token
 * shown once) and revoke, which feeds the resource servers like every other revocation.
 */
export function tokenActions(
  routes: ConsoleRoutes,
  deps: ConsoleDeps,
  detailPage: (ctx: Context, account: Account, extra: Record<string, unknown>, status: number) => Promise<void>,
): void {
  const load = async (ctx: Context) => {
    const account = await deps.storage.accounts.findById(ctx.params.id!);
    if (!account) deps.pages.sendError(ctx, 404, { message: 'There is no such user.', code: 'unknown_user', retry: `${deps.base}/users` });
    return account;
  };

  routes.action('/users/:id/tokens', async (ctx) => {
    const account = await load(ctx);
    if (!account) return;
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    // Checkboxes: one value per ticked scope.
    const scope = [body.scope]
      .flat()
      .filter((s): s is string => typeof s === 'string')
      .join(' ')
      .slice(0, 512);
    const days = Number(field(ctx, 'days', 16));
    let created;
    try {
      created = await createPersonalAccessToken(deps.revocation, {
        username: account.username,
        name: field(ctx, 'name', 64),
        scope,
        expiresInDays: Number.isFinite(days) ? days : Number.NaN,
        actor: actorOf(ctx),
      });
    } catch (error) {
      const message = refusal(error);
      if (message) return detailPage(ctx, account, { error: message }, 400);
      throw error;
    }
    recordAction(
      deps,
      ctx,
      'pat.created',
      { sub: account.id, username: account.username, pat_id: created.record.id, scope: created.record.scope },
      'personal access token created by an admin',
    );
    await detailPage(ctx, account, { createdToken: { name: created.record.name, token: created.token } }, 201);
  });

  routes.action('/users/:id/tokens/revoke', async (ctx) => {
    const account = await load(ctx);
    if (!account) return;
    let removed;
    try {
      removed = await revokePersonalAccessToken(deps.revocation, account.username, field(ctx, 'name', 64), actorOf(ctx));
    } catch (error) {
      const message = refusal(error);
      if (message) return detailPage(ctx, account, { error: message }, 400);
      throw error;
    }
    recordAction(
      deps,
      ctx,
      'pat.revoked',
      { sub: account.id, username: account.username, pat_id: removed.id },
      'personal access token revoked by an admin',
    );
    redirectBack(deps, ctx, 'pat-revoked');
  });
}
