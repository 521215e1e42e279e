import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { checkPasswordPolicy } from '../accounts/password-policy.ts';
import { AccountExistsError, InvalidAccountError, type Account } from '../storage/store.ts';
import { disableAccount, enableAccount } from '../revocation/revocations.ts';
import { actorOf, field, recordAction, redirectBack, renderConsole, type ConsoleDeps, type ConsoleRoutes } from './console-page.ts';
import { listGrants, listSessions } from './grants.ts';
import { tokenActions, tokenSection } from './tokens.ts';

const SHOWN = 200;

/** Roles as typed in the form: separated by commas or spaces. */
function rolesOf(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((r) => r.trim())
    .filter(Boolean);
}

function matches(account: Account, query: string): boolean {
  const q = query.toLowerCase();
  return [account.username, account.name, account.email, account.id].some((v) => v?.toLowerCase().includes(q));
}

/**
 * Users: search, create (the password shown once), edit name, email and roles, disable (which
 * also revokes everything the user holds) and enable, with their grants, sessions and upstream links.
 */
export function userPages(routes: ConsoleRoutes, deps: ConsoleDeps): void {
  const { accounts, models } = deps.storage;

  async function listPage(ctx: Context, extra: { error?: string; form?: Record<string, string> } = {}, status = 200) {
    const q = typeof ctx.query.q === 'string' ? ctx.query.q.trim().slice(0, 100) : '';
    const all = await accounts.list();
    const found = q ? all.filter((a) => matches(a, q)) : all;
    renderConsole(
      deps,
      ctx,
      'users',
      { section: 'Users', q, users: found.slice(0, SHOWN), total: found.length, shown: SHOWN, ...extra },
      status,
    );
  }

  routes.page('/users', (ctx) => listPage(ctx));

  routes.action('/users', async (ctx) => {
    const form = {
      username: field(ctx, 'username', 64).trim(),
      name: field(ctx, 'name'),
      email: field(ctx, 'email'),
      roles: field(ctx, 'roles'),
    };
    // 24 random characters: above the 15 the admin role needs, and never a common password.
    const password = randomBytes(18).toString('base64url');
    let account: Account;
    try {
      const roles = rolesOf(form.roles);
      checkPasswordPolicy(password, { username: form.username, roles });
      account = await accounts.add({ username: form.username, password, name: form.name || null, email: form.email || null, roles });
    } catch (error) {
      if (error instanceof InvalidAccountError || error instanceof AccountExistsError) {
        return listPage(ctx, { error: error.message, form }, error instanceof AccountExistsError ? 409 : 400);
      }
      throw error;
    }
    recordAction(
      deps,
      ctx,
      'user.created',
      { sub: account.id, username: account.username, roles: account.roles },
      'user created by an admin',
    );
    renderConsole(deps, ctx, 'user-created', { section: 'Users', user: account, password }, 201);
  });

  async function detailPage(ctx: Context, account: Account, extra: Record<string, unknown> = {}, status = 200) {
    await deps.trail.flush();
    const [grants, sessions, links, events, tokens] = await Promise.all([
      listGrants(models, { accountId: account.id }).then((list) => list.map((g) => ({ ...g, username: account.username }))),
      listSessions(models, { accountId: account.id }).then((list) => list.map((x) => ({ ...x, username: account.username }))),
      accounts.listLinks().then((all) => all.filter((l) => l.accountId === account.id)),
      deps.storage.audit.recent({ accountId: account.id, limit: 5 }),
      tokenSection(deps, account),
    ]);
    renderConsole(
      deps,
      ctx,
      'user',
      {
        section: 'Users',
        title: account.username,
        user: account,
        grants,
        sessions,
        links,
        events,
        ...tokens,
        self: account.id === (ctx.state.admin as { account: Account }).account.id,
        ...extra,
      },
      status,
    );
  }

  async function load(ctx: Context): Promise<Account | undefined> {
    const account = await accounts.findById(ctx.params.id!);
    if (!account) deps.pages.sendError(ctx, 404, { message: 'There is no such user.', code: 'unknown_user', retry: `${deps.base}/users` });
    return account;
  }

  routes.page('/users/:id', async (ctx) => {
    const account = await load(ctx);
    if (account) await detailPage(ctx, account);
  });

  routes.action('/users/:id/profile', async (ctx, admin) => {
    const account = await load(ctx);
    if (!account) return;
    const roles = rolesOf(field(ctx, 'roles'));
    if (account.id === admin.account.id && !roles.includes('admin')) {
      return detailPage(ctx, account, { error: 'You cannot take the admin role from yourself: ask another admin.' }, 400);
    }
    let updated: Account | undefined;
    try {
      updated = await accounts.updateProfile(account.id, { name: field(ctx, 'name') || null, email: field(ctx, 'email') || null, roles });
    } catch (error) {
      if (error instanceof InvalidAccountError) return detailPage(ctx, account, { error: error.message }, 400);
      throw error;
    }
    recordAction(
      deps,
      ctx,
      'user.updated',
      { sub: account.id, username: account.username, roles: updated?.roles, previous_roles: account.roles },
      'user updated by an admin',
    );
    redirectBack(deps, ctx, 'saved');
  });

  routes.action('/users/:id/disable', async (ctx, admin) => {
    const account = await load(ctx);
    if (!account) return;
    if (account.id === admin.account.id) return detailPage(ctx, account, { error: 'You cannot disable your own account.' }, 400);
    // No new sign-in; its sessions, grants and stored tokens go; the feed refuses its access tokens and PATs.
    const { removed: revoked } = await disableAccount(deps.revocation, account.username, actorOf(ctx));
    recordAction(deps, ctx, 'user.disabled', { sub: account.id, username: account.username, revoked }, 'user disabled by an admin');
    redirectBack(deps, ctx, 'user-disabled');
  });

  routes.action('/users/:id/enable', async (ctx) => {
    const account = await load(ctx);
    if (!account) return;
    await enableAccount(deps.revocation, account.username, actorOf(ctx));
    recordAction(deps, ctx, 'user.enabled', { sub: account.id, username: account.username }, 'user enabled by an admin');
    redirectBack(deps, ctx, 'enabled');
  });

  tokenActions(routes, deps, detailPage);
}
