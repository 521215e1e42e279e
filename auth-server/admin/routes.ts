import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Logger } from '../../common/logger.ts';
import type { AuthServerConfig } from '../config.ts';
import type { Pages } from '../interactions/pages.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';
import type { LiveProvider } from '../provider/live-provider.ts';
import type { PatContext } from '../revocation/personal-access-tokens.ts';
import type { Storage } from '../storage/store.ts';
import { adminSessions } from './admin-session.ts';
import { auditPages } from './audit.ts';
import type { AuditTrail } from './audit-trail.ts';
import { clientPages } from './clients.ts';
import type { Admin, ConsoleDeps, ConsoleRoutes } from './console-page.ts';
import { dashboardPage } from './dashboard.ts';
import { grantActions } from './grants.ts';
import { keyPages } from './keys.ts';
import { userPages } from './users.ts';
import { formBody } from '../interactions/form-body.ts';

export interface AdminRouteDeps {
  /** The provider serving requests now. */
  provider: () => Provider;
  pages: Pages;
  storage: Storage;
  config: AuthServerConfig;
  cookieKeys: string[];
  trail: AuditTrail;
  /** The signing-key store (keys/signing-keys.ts), and the provider holder a rotation refreshes. */
  signingKeys: SigningKeys;
  live: Pick<LiveProvider, 'refresh'>;
  /** revocation/context.ts: what the revocation functions and PATs need. */
  revocation: PatContext;
  prefix: string;
  /** Epoch ms (default Date.now); tests move it to age the sign-in. */
  now?: () => number;
}

/**
 * The admin console at `${prefix}/admin`: server-rendered pages (the login pages' renderer,
 * headers and CSP), for accounts with the `admin` role only. Every page checks the visitor;
 * every form post checks its CSRF token and then that the sign-in is at most 10 minutes old.
 *
 * ```ts source="./routes.examples.ts#adminRoutes"
 * app.use(adminRoutes({ provider, pages, storage, config, cookieKeys, trail, signingKeys, live, revocation, prefix }).routes());
 * ```
 */
export function adminRoutes(deps: AdminRouteDeps): Router {
  const base = `${deps.prefix}/admin`;
  const now = deps.now ?? Date.now;
  const sessions = adminSessions({
    provider: deps.provider,
    accounts: deps.storage.accounts,
    cookieKeys: deps.cookieKeys,
    issuer: deps.config.issuer,
    prefix: deps.prefix,
    now,
  });
  const audit: Logger = deps.trail.logger;
  const shared: ConsoleDeps = { ...deps, audit, sessions, base, now };
  // Full paths rather than a router prefix: the dashboard is the prefix itself.
  const router = new Router();
  const form = formBody();

  router.get(`${base}/login`, (ctx) => {
    ctx.redirect(sessions.loginUrl(ctx, ctx.query.return, ctx.query.fresh === '1'));
  });
  router.get(`${base}/callback`, (ctx) => {
    const back = sessions.finishLogin(ctx);
    if (!back) {
      return deps.pages.sendError(ctx, 400, {
        heading: 'This sign-in could not be matched',
        message: 'It was not started in this browser, was already used, or expired.',
        code: 'invalid_state',
        retry: base,
      });
    }
    if (typeof ctx.query.error === 'string') {
      return deps.pages.sendError(ctx, 400, {
        heading: 'Not signed in',
        message: 'The sign-in to the admin console did not complete.',
        code: ctx.query.error.slice(0, 64),
        retry: base,
      });
    }
    ctx.status = 303;
    ctx.redirect(back);
  });

  /** The admin at the console, or undefined once the response (sign-in redirect, refusal) is set. */
  async function admitted(ctx: Context): Promise<Admin | undefined> {
    const visitor = await sessions.visitor(ctx);
    if (visitor.kind === 'admin') {
      ctx.state.admin = visitor;
      return visitor;
    }
    if (visitor.kind === 'anonymous') {
      ctx.status = 303;
      ctx.redirect(sessions.loginUrl(ctx, ctx.method === 'GET' ? ctx.originalUrl : base, false));
      return undefined;
    }
    audit.warn(
      { event: 'admin.refused', sub: visitor.account?.id, username: visitor.account?.username, ip: ctx.ip, path: ctx.path },
      'admin console refused: not an admin',
    );
    deps.pages.sendError(ctx, 403, {
      heading: 'Administrators only',
      message: 'You are signed in with an account that is not an active administrator. Sign out and sign in with an admin account.',
      code: 'not_admin',
      retry: `${deps.config.issuer.replace(/\/$/, '')}/session/end`,
    });
    return undefined;
  }

  /**
   * Ids and filters reach the store as text: PostgreSQL refuses a NUL in one (an error, not a
   * row), so such a request is refused here, as the bad input it is.
   */
  function refuseNul(ctx: Context): boolean {
    const values = [...Object.values(ctx.params ?? {}), ...Object.values(ctx.query).flat()];
    if (!values.some((v) => typeof v === 'string' && v.includes('\u0000'))) return false;
    deps.pages.sendError(ctx, 400, { message: 'The request contains a NUL character.', code: 'invalid_request', retry: base });
    return true;
  }

  const routes: ConsoleRoutes = {
    page(path, handler) {
      router.get(`${base}${path}`, async (ctx) => {
        if (refuseNul(ctx)) return;
        const admin = await admitted(ctx);
        if (admin) await handler(ctx, admin);
      });
    },
    action(path, handler) {
      router.post(`${base}${path}`, form, async (ctx) => {
        if (refuseNul(ctx)) return;
        const admin = await admitted(ctx);
        if (!admin) return;
        const token = (ctx.request.body as Record<string, unknown> | undefined)?.csrf;
        if (!sessions.checkCsrf(admin, token)) {
          audit.warn({ event: 'admin.csrf_refused', admin: admin.account.id, ip: ctx.ip, path: ctx.path }, 'admin form refused: CSRF');
          return deps.pages.sendError(ctx, 403, {
            heading: 'Request refused',
            message: 'This form was not submitted from the admin console. Open the page again and retry.',
            code: 'csrf_check_failed',
            retry: base,
          });
        }
        if (!sessions.fresh(admin)) {
          // Not done: the admin signs in again and comes back to the page to repeat it.
          const back = sessions.consolePath((ctx.request.body as Record<string, unknown>).back);
          ctx.status = 303;
          return ctx.redirect(sessions.loginUrl(ctx, back, true));
        }
        await handler(ctx, admin);
      });
    },
  };

  dashboardPage(routes, shared);
  userPages(routes, shared);
  clientPages(routes, shared);
  grantActions(routes, shared);
  keyPages(routes, shared);
  auditPages(routes, shared);
  return router;
}
