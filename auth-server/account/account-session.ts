import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { csrfTokens } from '../interactions/csrf.ts';

/** How long a sign-in on the account pages lasts. Short: these pages mint long-lived credentials. */
export const ACCOUNT_SESSION_MS = 15 * 60_000;

export interface AccountSession {
  accountId: string;
  /** Binds the page's CSRF tokens to this session. */
  nonce: string;
}

export interface AccountSessions {
  /** The signed-in account: our own cookie, else oidc-provider's session (a sign-in at this server). */
  current(ctx: Context): Promise<AccountSession | undefined>;
  /** Starts our own session after a password sign-in. */
  start(ctx: Context, accountId: string): void;
  end(ctx: Context): void;
  /** A CSRF token for forms of this session (or, with no session, of this browser's sign-in form). */
  csrf(ctx: Context, session: AccountSession | undefined): string;
  verifyCsrf(ctx: Context, session: AccountSession | undefined, token: unknown): boolean;
}

/**
 * Who is signed in on the self-service pages (`/account/tokens`). A person who signed in at this
 * server for an MCP client has oidc-provider's session cookie, and is recognised by it. Otherwise
 * the pages' own sign-in form (the same account check and throttle as the login page) starts a
 * session of their own: a signed cookie holding the account id, a nonce and an expiry, HttpOnly,
 * SameSite=Strict, `__Host-` behind TLS at the root. Its own, rather than oidc-provider's, because
 * oidc-provider opens a session only at the end of an authorization request, which these pages
 * are not.
 *
 * CSRF: tokens are an HMAC (interactions/csrf.ts) of the session's nonce; before sign-in, of a
 * nonce in a short-lived signed cookie (so a cross-site form cannot sign a victim in either).
 */
export function accountSessions(options: {
  /** The provider serving requests now (a key rotation replaces it). */
  provider: () => Provider;
  cookieKeys: readonly string[];
  secure: boolean;
  prefix: string;
  now?: () => number;
}): AccountSessions {
  const now = options.now ?? Date.now;
  const csrf = csrfTokens(options.cookieKeys);
  // __Host- needs Path=/ and no Domain; under an issuer path the cookie is kept to that path instead.
  const atRoot = options.prefix === '';
  const name = options.secure ? (atRoot ? '__Host-account' : '__Secure-account') : 'account';
  const loginName = `${name}_login`;
  const cookieOptions = {
    signed: true,
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: options.secure,
    path: options.secure && atRoot ? '/' : `${options.prefix}/account`,
    overwrite: true,
  };
  const cookies = (ctx: Context) => {
    // Behind a TLS-terminating proxy Koa may not know the request was https; the issuer says it was.
    if (options.secure) ctx.cookies.secure = true;
    return ctx.cookies;
  };

  const own = (ctx: Context): AccountSession | undefined => {
    const value = cookies(ctx).get(name, { signed: true });
    const [accountId, nonce, expires] = value?.split('.') ?? [];
    if (!accountId || !nonce || !(Number(expires) > now())) return undefined;
    return { accountId, nonce };
  };

  const loginNonce = (ctx: Context, create: boolean): string | undefined => {
    let nonce = cookies(ctx).get(loginName, { signed: true });
    if (!nonce && create) {
      nonce = randomBytes(16).toString('base64url');
      cookies(ctx).set(loginName, nonce, { ...cookieOptions, maxAge: 30 * 60_000 });
    }
    return nonce;
  };

  return {
    async current(ctx) {
      const mine = own(ctx);
      if (mine) return mine;
      const session = await options
        .provider()
        .Session.get(ctx as never)
        .catch(() => undefined);
      return session?.accountId ? { accountId: session.accountId, nonce: `oidc:${session.uid}` } : undefined;
    },
    start(ctx, accountId) {
      const value = `${accountId}.${randomBytes(16).toString('base64url')}.${now() + ACCOUNT_SESSION_MS}`;
      cookies(ctx).set(name, value, { ...cookieOptions, maxAge: ACCOUNT_SESSION_MS });
      cookies(ctx).set(loginName, null, cookieOptions);
    },
    end(ctx) {
      cookies(ctx).set(name, null, cookieOptions);
    },
    csrf(ctx, session) {
      return csrf.issue(`account:${session ? session.nonce : `login:${loginNonce(ctx, true)}`}`);
    },
    verifyCsrf(ctx, session, token) {
      const nonce = session ? session.nonce : loginNonce(ctx, false);
      if (!nonce) return false;
      return csrf.verify(`account:${session ? nonce : `login:${nonce}`}`, token);
    },
  };
}
