import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { csrfTokens } from '../interactions/csrf.ts';
import type { Account, AccountStore } from '../storage/store.ts';
import { ADMIN_CLIENT_ID, adminCallbackUrl } from './admin-client.ts';

/** Sensitive actions need a sign-in at most this old (seconds). */
export const FRESH_LOGIN_SECONDS = 600;
const LOGIN_STATE_SECONDS = 600;

export type AdminVisitor =
  | { kind: 'anonymous' }
  /** Signed in, but not as an active account with the admin role. */
  | { kind: 'refused'; account: Account | undefined }
  | { kind: 'admin'; account: Account; sessionId: string; loginTs: number; csrf: string };

export interface AdminSessionDeps {
  /** The provider serving requests now (a key rotation may replace it; sessions live in the store). */
  provider: () => Provider;
  accounts: AccountStore;
  cookieKeys: string[];
  issuer: string;
  prefix: string;
  /** Epoch ms; tests move it to age the sign-in. */
  now: () => number;
}

/**
 * Who is at the console. The console has no session of its own: it reads oidc-provider's
 * (signed cookie, session row in the store), so signing out of the server signs out of the
 * console, and `loginTs` (when the user last typed a password or came back from an upstream) is
 * the clock of the 10-minute rule. CSRF tokens are an HMAC of the session's uid.
 *
 * ```ts source="./admin-session.examples.ts#adminSessions"
 * const sessions = adminSessions({ provider, accounts, cookieKeys, issuer, prefix, now: Date.now });
 * const visitor = await sessions.visitor(ctx);
 * if (visitor.kind === 'admin' && !sessions.fresh(visitor)) ctx.redirect(sessions.loginUrl(ctx, '/admin/users', true));
 * ```
 */
export function adminSessions(deps: AdminSessionDeps) {
  const csrf = csrfTokens(deps.cookieKeys);
  const secure = deps.issuer.startsWith('https://');
  // __Host-: Secure, Path=/, no Domain, so no sibling host can plant or read it.
  const stateCookie = secure ? '__Host-admin-login' : 'admin-login';
  const base = `${deps.prefix}/admin`;

  return {
    async visitor(ctx: Context): Promise<AdminVisitor> {
      const session = await deps.provider().Session.get(ctx as never);
      const accountId = session.accountId;
      if (!accountId || typeof session.loginTs !== 'number') return { kind: 'anonymous' };
      const account = await deps.accounts.findById(accountId);
      if (!account || account.disabledAt !== null || !account.roles.includes('admin')) return { kind: 'refused', account };
      return { kind: 'admin', account, sessionId: session.uid, loginTs: session.loginTs, csrf: csrf.issue(`admin:${session.uid}`) };
    },

    /** Whether the admin signed in within FRESH_LOGIN_SECONDS. */
    fresh(visitor: { loginTs: number }): boolean {
      return deps.now() / 1000 - visitor.loginTs <= FRESH_LOGIN_SECONDS;
    },

    checkCsrf(visitor: { sessionId: string }, token: unknown): boolean {
      return csrf.verify(`admin:${visitor.sessionId}`, token);
    },

    /**
     * Starts the ordinary sign-in for the console's client; `fresh` asks for the password again
     * even within the session (prompt=login). `back` is where to return (a console path).
     */
    loginUrl(ctx: Context, back: unknown, fresh: boolean): string {
      const state = randomBytes(24).toString('base64url');
      ctx.cookies.set(stateCookie, `${state} ${consolePath(back, base)}`, {
        signed: true,
        httpOnly: true,
        secure,
        // Lax: the way back from the login is a top-level redirect, which must carry it.
        sameSite: 'lax',
        path: '/',
        maxAge: LOGIN_STATE_SECONDS * 1000,
      });
      const params = new URLSearchParams({
        client_id: ADMIN_CLIENT_ID,
        response_type: 'none',
        scope: 'openid',
        redirect_uri: adminCallbackUrl(deps.issuer),
        state,
      });
      if (fresh) params.set('prompt', 'login');
      return `${deps.prefix}/auth?${params}`;
    },

    /** A console path from a form or a query (anything else: the dashboard). */
    consolePath: (path: unknown) => consolePath(path, base),

    /** At the callback: where to go back to, or undefined when the state is not this browser's. */
    finishLogin(ctx: Context): string | undefined {
      const bound = ctx.cookies.get(stateCookie, { signed: true });
      ctx.cookies.set(stateCookie, null, { path: '/', secure, signed: true });
      const [state, back] = (bound ?? '').split(' ');
      return state && back && ctx.query.state === state ? back : undefined;
    },
  };
}

export type AdminSessions = ReturnType<typeof adminSessions>;

/** A path inside the console (never another site, never `//host`); the dashboard otherwise. */
export function consolePath(path: unknown, base: string): string {
  if (typeof path !== 'string' || path.length > 512) return base;
  if (path !== base && !path.startsWith(`${base}/`) && !path.startsWith(`${base}?`)) return base;
  if (/[\s\\]|\/\/|\/\.\.?(\/|$|\?)/.test(path)) return base;
  return path;
}
