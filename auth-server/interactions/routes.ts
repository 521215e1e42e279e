import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import type { Logger } from '../../common/logger.ts';
import type { ProtectedResourceConfig } from '../config.ts';
import type { LoginThrottle } from '../security/login-throttle.ts';
import type { AccountStore } from '../storage/store.ts';
import { describeClient } from './client-display.ts';
import { csrfTokens } from './csrf.ts';
import type { Pages } from './pages.ts';
import { describeScopes } from './scope-descriptions.ts';
import { formBody } from './form-body.ts';

export interface InteractionDeps {
  /** The current oidc-provider: a key rotation swaps it (provider/live-provider.ts), so never keep one. */
  provider: () => Provider;
  pages: Pages;
  accounts: AccountStore;
  resources: ProtectedResourceConfig[];
  cookieKeys: string[];
  throttle: LoginThrottle;
  audit: Logger;
  /** Counts login attempts for metrics. */
  onLogin?: (result: 'success' | 'failed' | 'locked') => void;
  /** The issuer's path ('' at the root): our routes live beside oidc-provider's. */
  prefix: string;
  /** Upstream identity providers offered as "Continue with <name>" (upstream/upstream-routes.ts). */
  upstreams?: { id: string; name: string }[];
  /** Whether username and password sign-in is offered (AUTH_LOCAL_LOGIN; default on). */
  localLogin?: boolean;
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/**
 * Our login, consent and abort routes for oidc-provider interactions (devInteractions is off).
 *
 * ```ts source="./routes.examples.ts#interactionRoutes"
 * app.use(interactionRoutes(deps).routes());
 * ```
 */
export function interactionRoutes(deps: InteractionDeps): Router {
  const { provider, pages, accounts, audit, prefix } = deps;
  const csrf = csrfTokens(deps.cookieKeys);
  const router = new Router({ prefix: `${prefix}/interaction` });
  const form = formBody();
  const base = (uid: string) => `${prefix}/interaction/${uid}`;
  const upstreams = deps.upstreams ?? [];
  const localLogin = deps.localLogin ?? true;

  /** Loads the interaction or renders the friendly "start again" page. */
  async function load(ctx: Context): Promise<Details | undefined> {
    try {
      const details = await provider().interactionDetails(ctx.req, ctx.res);
      if (details.uid !== ctx.params.uid) throw new Error('interaction mismatch');
      return details;
    } catch {
      pages.sendError(ctx, 400, {
        heading: 'This sign-in has expired',
        message: 'The sign-in page you used is no longer valid (it expired, was already used, or cookies were blocked).',
        code: 'invalid_interaction',
      });
      return undefined;
    }
  }

  function checkCsrf(ctx: Context, uid: string): boolean {
    if (csrf.verify(uid, (ctx.request.body as Record<string, unknown> | undefined)?.csrf)) return true;
    pages.sendError(ctx, 403, {
      heading: 'Request refused',
      message: 'This form was not submitted from our sign-in page. Go back to the application and start again.',
      code: 'csrf_check_failed',
    });
    return false;
  }

  async function finish(ctx: Context, result: InteractionResults, mergeWithLastSubmission = true): Promise<void> {
    const location = await provider().interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission });
    ctx.status = 303;
    ctx.redirect(location);
  }

  function loginPage(ctx: Context, details: Details, extra: { error?: string; username?: string } = {}, status = 200) {
    const client = describeClient(ctx.state.client);
    pages.send(
      ctx,
      'login',
      {
        client,
        csrf: csrf.issue(details.uid),
        action: `${base(details.uid)}/login`,
        abortAction: `${base(details.uid)}/abort`,
        upstreams: upstreams.map((u) => ({ name: u.name, href: `${base(details.uid)}/upstream/${u.id}` })),
        localLogin,
        ...extra,
      },
      status,
    );
  }

  async function consentPage(ctx: Context, details: Details) {
    const client = describeClient(ctx.state.client);
    const promptDetails = details.prompt.details as {
      missingOIDCScope?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const resourceScopes = Object.entries(promptDetails.missingResourceScopes ?? {});
    // Every resource the grant will cover is named, not just the first.
    const urls = resourceScopes.length
      ? resourceScopes.map(([url]) => url)
      : [String(details.params.resource ?? deps.resources[0]?.url ?? '')];
    const resources = urls.map((url) => ({ url, name: deps.resources.find((r) => r.url === url)?.name ?? url }));
    const account = details.session?.accountId ? await accounts.findById(details.session.accountId) : undefined;
    // Native (loopback) clients are asked again even when everything is granted already
    // (RFC 8252 §8.6: any local program can claim a loopback port): then name what they ask for.
    const missing = [...(promptDetails.missingOIDCScope ?? []), ...resourceScopes.flatMap(([, s]) => s)];
    pages.send(ctx, 'consent', {
      client,
      resources,
      account: account?.name ?? account?.username ?? 'you',
      redirectHost: hostOf(details.params.redirect_uri),
      scopes: describeScopes(
        missing.length
          ? missing
          : String(details.params.scope ?? '')
              .split(' ')
              .filter(Boolean),
      ),
      csrf: csrf.issue(details.uid),
      action: `${base(details.uid)}/confirm`,
      abortAction: `${base(details.uid)}/abort`,
    });
  }

  /** For audit lines: a `sub` is a random id, the username is what a person recognises. */
  async function usernameOf(sub: string | undefined): Promise<string | undefined> {
    return sub ? (await accounts.findById(sub).catch(() => undefined))?.username : undefined;
  }

  /** Loads the client of the interaction for display (CIMD clients are fetched through the cache). */
  async function withClient(ctx: Context, details: Details) {
    ctx.state.client = await provider()
      .Client.find(String(details.params.client_id))
      .catch(() => undefined);
  }

  router.get('/:uid', async (ctx) => {
    const details = await load(ctx);
    if (!details) return;
    await withClient(ctx, details);
    if (details.prompt.name === 'login') {
      // Nothing to choose: with one provider and no password form, go straight to it.
      if (!localLogin && upstreams.length === 1) return ctx.redirect(`${base(details.uid)}/upstream/${upstreams[0]!.id}`);
      return loginPage(ctx, details);
    }
    if (details.prompt.name === 'consent') return consentPage(ctx, details);
    pages.sendError(ctx, 400, { message: `Unsupported sign-in step "${details.prompt.name}".`, code: 'unsupported_prompt' });
  });

  router.post('/:uid/login', form, async (ctx) => {
    const details = await load(ctx);
    if (!details || !checkCsrf(ctx, details.uid)) return;
    if (details.prompt.name !== 'login') return pages.sendError(ctx, 400, { message: 'This step is already done.', code: 'invalid_step' });
    if (!localLogin) {
      return pages.sendError(ctx, 403, {
        message: 'Password sign-in is turned off here: use one of the sign-in providers.',
        code: 'local_login_disabled',
        retry: base(details.uid),
      });
    }
    const body = ctx.request.body as Record<string, unknown>;
    const username = typeof body.username === 'string' ? body.username.trim().slice(0, 256) : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const wait = await deps.throttle.attempt(ctx, username);
    if (wait) {
      deps.onLogin?.('locked');
      audit.warn(
        { event: 'login.locked', username: username.slice(0, 64), client_id: details.params.client_id, ip: ctx.ip, retry_after: wait },
        'login refused: too many failures',
      );
      await withClient(ctx, details);
      ctx.set('Retry-After', String(wait));
      const minutes = Math.ceil(wait / 60);
      return loginPage(
        ctx,
        details,
        { error: `Too many failed attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`, username },
        429,
      );
    }
    // authenticate() refuses a disabled account even with the right password, in the same time
    // and with the same message as a wrong one, so the page never tells which accounts exist.
    const account = username && password ? await accounts.authenticate(username, password).catch(() => undefined) : undefined;
    if (!account) {
      deps.onLogin?.('failed');
      audit.warn(
        { event: 'login.failed', username: username.slice(0, 64), client_id: details.params.client_id, ip: ctx.ip },
        'login failed',
      );
      await withClient(ctx, details);
      return loginPage(ctx, details, { error: 'Wrong username or password, or the account is disabled.', username }, 401);
    }
    await deps.throttle.succeeded(ctx, username);
    deps.onLogin?.('success');
    audit.info(
      { event: 'login.success', sub: account.id, username: account.username, client_id: details.params.client_id, ip: ctx.ip },
      'login ok',
    );
    await finish(ctx, { login: { accountId: account.id } }, false);
  });

  router.post('/:uid/confirm', form, async (ctx) => {
    const details = await load(ctx);
    if (!details || !checkCsrf(ctx, details.uid)) return;
    if (details.prompt.name !== 'consent' || !details.session?.accountId) {
      return pages.sendError(ctx, 400, { message: 'There is nothing to approve at this step.', code: 'invalid_step' });
    }
    const grantId = await saveGrant(provider(), details);
    const username = await usernameOf(details.session.accountId);
    audit.info(
      {
        event: 'consent.given',
        sub: details.session.accountId,
        username,
        client_id: details.params.client_id,
        ip: ctx.ip,
        scope: details.params.scope,
      },
      'consent given',
    );
    await finish(ctx, { consent: { grantId } });
  });

  router.post('/:uid/abort', form, async (ctx) => {
    const details = await load(ctx);
    if (!details || !checkCsrf(ctx, details.uid)) return;
    const sub = details.session?.accountId;
    audit.info(
      { event: 'consent.denied', sub, username: await usernameOf(sub), client_id: details.params.client_id, ip: ctx.ip },
      'access denied by user',
    );
    await finish(ctx, { error: 'access_denied', error_description: 'The user denied the request' }, false);
  });

  return router;
}

/** Adds what the consent prompt reported missing to the (existing or new) grant. */
async function saveGrant(provider: Provider, details: Details): Promise<string> {
  const { accountId } = details.session!;
  const clientId = String(details.params.client_id);
  const grant = details.grantId
    ? ((await provider.Grant.find(details.grantId)) ?? new provider.Grant({ accountId, clientId }))
    : new provider.Grant({ accountId, clientId });
  const missing = details.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

/** Where the browser goes afterwards; undefined for a device grant, which has no redirect. */
function hostOf(uri: unknown): string | undefined {
  return typeof uri === 'string' ? URL.parse(uri)?.host || uri : undefined;
}
