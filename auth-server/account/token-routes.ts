import Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from '../../common/logger.ts';
import type { Pages } from '../interactions/pages.ts';
import type { LoginThrottle } from '../security/login-throttle.ts';
import {
  createPersonalAccessToken,
  listPersonalAccessTokens,
  PersonalAccessTokenRequestError,
  revokePersonalAccessToken,
  type PatContext,
} from '../revocation/personal-access-tokens.ts';
import { NotFoundError } from '../revocation/revocations.ts';
import { PersonalAccessTokenExistsError, type Account } from '../storage/store.ts';
import type { AccountSession, AccountSessions } from './account-session.ts';
import { formBody } from '../interactions/form-body.ts';

export interface TokenPageDeps {
  pats: PatContext;
  sessions: AccountSessions;
  pages: Pages;
  throttle: LoginThrottle;
  audit: Logger;
  /** The issuer's path ('' at the root). */
  prefix: string;
  /** AUTH_LOCAL_LOGIN: without password sign-in, only a sign-in at this server (an MCP client's) opens these pages. */
  localLogin: boolean;
}

/**
 * The self-service page for personal access tokens: `GET /account/tokens` lists the signed-in
 * user's tokens (name, scopes, expiry, last use) with a form to create one (shown once, on the
 * answer to that form) and a button to revoke each; `/account/login` signs in for it. Every form
 * carries a CSRF token; not signed in, every page redirects to the sign-in form. No script: the
 * pages' CSP is the login page's (interactions/pages.ts).
 */
export function tokenPageRoutes(deps: TokenPageDeps): Router {
  const { pats, sessions, pages, prefix } = deps;
  const router = new Router({ prefix: `${prefix}/account` });
  const form = formBody();
  const loginUrl = `${prefix}/account/login`;
  const tokensUrl = `${prefix}/account/tokens`;
  const primary = pats.resources[0]!;

  /** The signed-in, enabled account, or a redirect to the sign-in form. */
  async function signedIn(ctx: Context): Promise<{ session: AccountSession; account: Account } | undefined> {
    const session = await sessions.current(ctx);
    const account = session ? await pats.storage.accounts.findById(session.accountId) : undefined;
    if (!session || !account || account.disabledAt !== null) {
      ctx.status = 303;
      ctx.redirect(loginUrl);
      return undefined;
    }
    return { session, account };
  }

  function csrfRefused(ctx: Context): void {
    pages.sendError(ctx, 403, {
      heading: 'Request refused',
      message: 'This form was not submitted from this page, or your sign-in ended. Open the page again and retry.',
      code: 'csrf_check_failed',
      retry: tokensUrl,
    });
  }

  async function tokensPage(
    ctx: Context,
    who: { session: AccountSession; account: Account },
    extra: { created?: { name: string; token: string }; error?: string } = {},
    status = 200,
  ): Promise<void> {
    const tokens = await listPersonalAccessTokens(pats, who.account.username);
    const scopes = primary.scopes.filter((scope) => !scope.endsWith(':admin') || who.account.roles.includes('admin'));
    pages.send(
      ctx,
      'account-tokens',
      {
        username: who.account.username,
        csrf: sessions.csrf(ctx, who.session),
        action: tokensUrl,
        revokeAction: `${tokensUrl}/revoke`,
        logoutAction: `${prefix}/account/logout`,
        resource: primary.url,
        scopes,
        maxDays: pats.maxDays,
        defaultDays: Math.min(30, pats.maxDays),
        tokens: tokens.map((t) => ({
          name: t.name,
          scope: t.scope,
          expires: day(t.expiresAt),
          lastUsed: t.lastUsedAt === null ? 'never' : day(t.lastUsedAt),
        })),
        ...extra,
      },
      status,
    );
  }

  router.get('/tokens', async (ctx) => {
    const who = await signedIn(ctx);
    if (who) await tokensPage(ctx, who);
  });

  router.post('/tokens', form, async (ctx) => {
    const who = await signedIn(ctx);
    if (!who) return;
    const body = formOf(ctx);
    if (!sessions.verifyCsrf(ctx, who.session, body.csrf)) return csrfRefused(ctx);
    const name = typeof body.name === 'string' ? body.name : '';
    const scope = [body.scope]
      .flat()
      .filter((s): s is string => typeof s === 'string')
      .join(' ');
    const days = Number(body.days);
    try {
      const { token, record } = await createPersonalAccessToken(pats, {
        username: who.account.username,
        name,
        scope,
        expiresInDays: Number.isFinite(days) ? days : undefined,
        actor: 'self',
      });
      // The only time the token is shown: this answer is no-store (pages.ts) and never redirected to.
      await tokensPage(ctx, who, { created: { name: record.name, token } }, 201);
    } catch (error) {
      if (error instanceof PersonalAccessTokenRequestError || error instanceof PersonalAccessTokenExistsError) {
        return tokensPage(ctx, who, { error: error.message }, 400);
      }
      throw error;
    }
  });

  router.post('/tokens/revoke', form, async (ctx) => {
    const who = await signedIn(ctx);
    if (!who) return;
    const body = formOf(ctx);
    if (!sessions.verifyCsrf(ctx, who.session, body.csrf)) return csrfRefused(ctx);
    try {
      await revokePersonalAccessToken(pats, who.account.username, typeof body.name === 'string' ? body.name : '', 'self');
    } catch (error) {
      if (error instanceof NotFoundError) return tokensPage(ctx, who, { error: 'There is no such token (already revoked?).' }, 404);
      throw error;
    }
    ctx.status = 303;
    ctx.redirect(tokensUrl);
  });

  const loginPage = (ctx: Context, extra: { error?: string; username?: string } = {}, status = 200) =>
    pages.send(
      ctx,
      'account-login',
      { csrf: sessions.csrf(ctx, undefined), action: loginUrl, localLogin: deps.localLogin, ...extra },
      status,
    );

  router.get('/login', async (ctx) => {
    if (await sessions.current(ctx)) return ctx.redirect(tokensUrl);
    loginPage(ctx);
  });

  router.post('/login', form, async (ctx) => {
    const body = formOf(ctx);
    if (!sessions.verifyCsrf(ctx, undefined, body.csrf)) return csrfRefused(ctx);
    if (!deps.localLogin)
      return pages.sendError(ctx, 403, { message: 'Password sign-in is turned off here.', code: 'local_login_disabled' });
    const username = typeof body.username === 'string' ? body.username.trim().slice(0, 256) : '';
    const password = typeof body.password === 'string' ? body.password : '';
    // The login page's throttle, so this form is no side door for guessing passwords.
    const wait = await deps.throttle.attempt(ctx, username);
    if (wait) {
      ctx.set('Retry-After', String(wait));
      return loginPage(ctx, { error: 'Too many failed attempts. Try again later.', username }, 429);
    }
    const account = username && password ? await pats.storage.accounts.authenticate(username, password).catch(() => undefined) : undefined;
    if (!account) {
      deps.audit.warn({ event: 'login.failed', username: username.slice(0, 64), page: 'account', ip: ctx.ip }, 'login failed');
      return loginPage(ctx, { error: 'Wrong username or password, or the account is disabled.', username }, 401);
    }
    await deps.throttle.succeeded(ctx, username);
    deps.audit.info({ event: 'login.success', sub: account.id, username: account.username, page: 'account', ip: ctx.ip }, 'login ok');
    sessions.start(ctx, account.id);
    ctx.status = 303;
    ctx.redirect(tokensUrl);
  });

  router.post('/logout', form, async (ctx) => {
    const session = await sessions.current(ctx);
    if (!sessions.verifyCsrf(ctx, session, formOf(ctx).csrf)) return csrfRefused(ctx);
    sessions.end(ctx);
    ctx.status = 303;
    ctx.redirect(loginUrl);
  });

  return router;
}

/** The posted form; {} when the body was not a form (another content type, or none). */
function formOf(ctx: Context): Record<string, unknown> {
  const body = ctx.request.body as unknown;
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}
