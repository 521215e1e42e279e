import type { AccountStore, ModelStore } from '../storage/store.ts';
import { ADMIN_CLIENT_ID } from './admin-client.ts';
import { revokeGrant } from '../revocation/revocations.ts';
import { actorOf, recordAction, redirectBack, type ConsoleDeps, type ConsoleRoutes } from './console-page.ts';

/** A grant as the console shows it: what a user allowed a client, when. */
export interface GrantView {
  id: string;
  accountId: string;
  /** Filled in by withUsernames (the grant row has only the id). */
  username?: string;
  clientId: string;
  /** OpenID scopes (`openid profile …`). */
  openidScope: string;
  resources: { url: string; scope: string }[];
  /** Epoch ms. */
  grantedAt: number | null;
  expiresAt: number | null;
}

/** A browser session at this server. */
export interface SessionView {
  id: string;
  accountId: string;
  username?: string;
  loginAt: number | null;
  expiresAt: number | null;
  /** The clients this session has signed in to. */
  clients: string[];
}

const seconds = (value: unknown) => (typeof value === 'number' ? value * 1000 : null);

/**
 * The grants (of an account, of a client, or all). A scan of the Grant rows: an admin page's
 * cost, never a request path's. The console's own sign-in grants are left out.
 */
export async function listGrants(models: ModelStore, filter: { accountId?: string; clientId?: string } = {}): Promise<GrantView[]> {
  const rows = await models.list('Grant');
  return rows
    .map(({ id, payload }) => {
      const openid = payload.openid as { scope?: string } | undefined;
      const resources = (payload.resources ?? {}) as Record<string, unknown>;
      return {
        id,
        accountId: String(payload.accountId ?? ''),
        clientId: String(payload.clientId ?? ''),
        openidScope: openid?.scope ?? '',
        resources: Object.entries(resources).map(([url, scope]) => ({ url, scope: String(scope ?? '') })),
        grantedAt: seconds(payload.iat),
        expiresAt: seconds(payload.exp),
      };
    })
    .filter(
      (g) =>
        g.clientId !== ADMIN_CLIENT_ID &&
        (!filter.accountId || g.accountId === filter.accountId) &&
        (!filter.clientId || g.clientId === filter.clientId),
    )
    .sort((a, b) => (b.grantedAt ?? 0) - (a.grantedAt ?? 0));
}

/** Grants or sessions with their users' usernames, for display. */
export async function withUsernames<T extends { accountId: string }>(
  rows: T[],
  accounts: AccountStore,
): Promise<(T & { username?: string })[]> {
  const names = new Map((await accounts.list()).map((a) => [a.id, a.username]));
  return rows.map((row) => ({ ...row, username: names.get(row.accountId) }));
}

/** The browser sessions of an account, or those that signed in to a client. */
export async function listSessions(models: ModelStore, filter: { accountId?: string; clientId?: string }): Promise<SessionView[]> {
  const rows = await models.list('Session');
  return rows
    .filter(({ payload }) => typeof payload.accountId === 'string')
    .filter(({ payload }) => !filter.accountId || payload.accountId === filter.accountId)
    .filter(({ payload }) => !filter.clientId || Object.hasOwn((payload.authorizations ?? {}) as object, filter.clientId))
    .map(({ id, payload }) => ({
      id,
      accountId: payload.accountId as string,
      loginAt: seconds(payload.loginTs),
      expiresAt: seconds(payload.exp),
      clients: Object.keys((payload.authorizations ?? {}) as Record<string, unknown>),
    }))
    .sort((a, b) => (b.loginAt ?? 0) - (a.loginAt ?? 0));
}

/** Revoke a grant (every token stored for it goes too) or end a session. */
export function grantActions(routes: ConsoleRoutes, deps: ConsoleDeps): void {
  const { models } = deps.storage;

  routes.action('/grants/:id/revoke', async (ctx) => {
    const id = ctx.params.id!;
    const grant = await models.find('Grant', id);
    if (!grant) return redirectBack(deps, ctx, undefined);
    // Its stored tokens go, and the feed tells resource servers to refuse its access tokens.
    await revokeGrant(deps.revocation, id, actorOf(ctx));
    const account = await deps.storage.accounts.findById(String(grant.accountId));
    recordAction(
      deps,
      ctx,
      'grant.revoked',
      { sub: grant.accountId, username: account?.username, client_id: grant.clientId, grant_id: id },
      'grant revoked by an admin',
    );
    redirectBack(deps, ctx, 'revoked');
  });

  routes.action('/sessions/:id/revoke', async (ctx) => {
    const id = ctx.params.id!;
    const session = await models.find('Session', id);
    if (!session) return redirectBack(deps, ctx, undefined);
    await models.destroy('Session', id);
    const account = await deps.storage.accounts.findById(String(session.accountId));
    recordAction(deps, ctx, 'session.revoked', { sub: session.accountId, username: account?.username }, 'session ended by an admin');
    redirectBack(deps, ctx, 'revoked');
  });
}
