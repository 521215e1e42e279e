/** Type-checked examples for admin-session.ts (its JSDoc shows these regions). */
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { AccountStore } from '../storage/store.ts';
import { adminSessions } from './admin-session.ts';

export async function adminSessionsExample(ctx: Context, provider: () => Provider, accounts: AccountStore, cookieKeys: string[]) {
  const issuer = 'http://localhost:3000';
  const prefix = '';
  //#region adminSessions
  const sessions = adminSessions({ provider, accounts, cookieKeys, issuer, prefix, now: Date.now });
  const visitor = await sessions.visitor(ctx);
  if (visitor.kind === 'admin' && !sessions.fresh(visitor)) ctx.redirect(sessions.loginUrl(ctx, '/admin/users', true));
  //#endregion adminSessions
}
