import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Logger } from '../../common/logger.ts';
import type { Pages } from '../interactions/pages.ts';
import type { AccountStore, ModelStore } from '../storage/store.ts';
import { FederatedLoginRefused, federatedAccount } from './federated-accounts.ts';
import { upstreamClient, UpstreamUnavailableError, type UpstreamChecks } from './upstream-client.ts';
import type { UpstreamProvider } from './upstream-config.ts';
import type { TokenVault } from './token-vault.ts';

export interface UpstreamRouteDeps {
  /** The current oidc-provider: a key rotation swaps it (provider/live-provider.ts), so never keep one. */
  provider: () => Provider;
  pages: Pages;
  accounts: AccountStore;
  models: ModelStore;
  upstreams: UpstreamProvider[];
  issuer: string;
  /** The issuer's path ('' at the root). */
  prefix: string;
  audit: Logger;
  /** Where the tokens of providers with storeTokens go (undefined: no provider keeps them). */
  vault?: TokenVault | undefined;
}

/** What a started upstream sign-in keeps server-side until its callback (single use). */
interface PendingLogin extends UpstreamChecks {
  [key: string]: unknown;
  uid: string;
  providerId: string;
}

/** The model name of pending upstream sign-ins in the model store (swept like any expired row). */
const PENDING = 'UpstreamLogin';
/** Seconds a person has at the upstream before the callback is refused as expired. */
const PENDING_TTL = 10 * 60;

/**
 * The federated sign-in routes:
 * - GET `<prefix>/interaction/:uid/upstream/:id` (the "Continue with …" link) starts the upstream
 *   leg for that interaction and sends the browser to the upstream;
 * - GET `<prefix>/upstream/:id/callback` redeems the upstream's answer and finishes the same
 *   interaction with the login of our (linked or just-created) account.
 *
 * The pending sign-in (state, nonce, PKCE verifier, interaction uid) is stored server-side under
 * its `state`, used once, and bound to the browser by a signed cookie holding that state: a
 * callback in another browser, with another state, or replayed, is refused.
 *
 * ```ts source="./upstream-routes.examples.ts#upstreamRoutes"
 * app.use(upstreamRoutes({ provider, pages, accounts, models, upstreams, issuer, prefix, audit }).routes());
 * ```
 */
export function upstreamRoutes(deps: UpstreamRouteDeps): Router {
  const { provider, pages, prefix, audit } = deps;
  const router = new Router();
  const secure = deps.issuer.startsWith('https://');
  const cookieName = secure ? '__Secure-upstream' : '_upstream';
  const cookiePath = `${prefix}/upstream/`;
  const clients = new Map(
    deps.upstreams.map((upstream) => [upstream.id, { upstream, client: upstreamClient(upstream, callbackUrl(deps.issuer, upstream.id)) }]),
  );
  const retryUrl = (uid: string) => `${prefix}/interaction/${uid}`;

  router.get(`${prefix}/interaction/:uid/upstream/:id`, async (ctx) => {
    const entry = clients.get(ctx.params.id!);
    if (!entry) return pages.sendError(ctx, 404, { message: 'There is no such sign-in provider.', code: 'unknown_provider' });
    let details;
    try {
      details = await provider().interactionDetails(ctx.req, ctx.res);
      if (details.uid !== ctx.params.uid) throw new Error('interaction mismatch');
    } catch {
      return expired(ctx);
    }
    if (details.prompt.name !== 'login') return pages.sendError(ctx, 400, { message: 'This step is already done.', code: 'invalid_step' });
    let started;
    try {
      started = await entry.client.start();
    } catch (error) {
      return unavailable(ctx, entry.upstream, details.uid, error);
    }
    const pending: PendingLogin = { ...started.checks, uid: details.uid, providerId: entry.upstream.id };
    await deps.models.upsert(PENDING, started.checks.state, pending, PENDING_TTL);
    ctx.cookies.set(cookieName, started.checks.state, {
      signed: true,
      httpOnly: true,
      secure,
      // Lax: the upstream's redirect back is a top-level GET from another site, which must carry it.
      sameSite: 'lax',
      path: cookiePath,
      maxAge: PENDING_TTL * 1000,
    });
    audit.info(
      { event: 'login.upstream.started', upstream: entry.upstream.id, client_id: details.params.client_id, ip: ctx.ip },
      'sign-in sent upstream',
    );
    ctx.redirect(started.url.href);
  });

  router.get(`${prefix}/upstream/:id/callback`, async (ctx) => {
    const entry = clients.get(ctx.params.id!);
    if (!entry) return pages.sendError(ctx, 404, { message: 'There is no such sign-in provider.', code: 'unknown_provider' });
    const { upstream, client } = entry;
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : undefined;
    const bound = ctx.cookies.get(cookieName, { signed: true });
    const pending = state && state === bound ? ((await deps.models.find(PENDING, state)) as PendingLogin | undefined) : undefined;
    if (!pending || pending.providerId !== upstream.id) {
      audit.warn({ event: 'login.upstream.failed', upstream: upstream.id, reason: 'state', ip: ctx.ip }, 'upstream callback refused');
      return pages.sendError(ctx, 400, {
        heading: 'This sign-in could not be matched',
        message: `The answer from ${upstream.name} does not belong to a sign-in started in this browser, or it was already used or expired.`,
        code: 'invalid_state',
      });
    }
    // Used once, whatever happens next.
    await deps.models.destroy(PENDING, state!);
    ctx.cookies.set(cookieName, null, { path: cookiePath, secure, signed: true });
    const retry = retryUrl(pending.uid);

    if (typeof ctx.query.error === 'string') {
      audit.warn(
        {
          event: 'login.upstream.failed',
          upstream: upstream.id,
          reason: 'upstream_error',
          error: ctx.query.error.slice(0, 64),
          ip: ctx.ip,
        },
        'upstream refused the sign-in',
      );
      return pages.sendError(ctx, 400, {
        heading: `${upstream.name} did not sign you in`,
        message: `${upstream.name} answered with an error. You can try again, or choose another way to sign in.`,
        code: ctx.query.error.slice(0, 64),
        description: typeof ctx.query.error_description === 'string' ? ctx.query.error_description.slice(0, 300) : undefined,
        retry,
      });
    }

    const currentUrl = new URL(callbackUrl(deps.issuer, upstream.id));
    currentUrl.search = ctx.querystring;
    let account;
    try {
      const { identity, tokens } = await client.finish(currentUrl, pending);
      account = await federatedAccount(deps.accounts, upstream, identity);
      if (upstream.storeTokens) {
        // app.ts refuses to start with storeTokens and no vault; this is the type system's check.
        if (!deps.vault) throw new Error(`upstream ${upstream.id} has storeTokens but the auth server has no token vault`);
        await deps.vault.save(account.id, upstream.id, tokens);
        audit.info(
          { event: 'vault.stored', upstream: upstream.id, sub: account.id, refreshable: tokens.refreshToken !== undefined },
          'upstream tokens kept',
        );
      }
    } catch (error) {
      if (error instanceof UpstreamUnavailableError) return unavailable(ctx, upstream, pending.uid, error);
      if (error instanceof FederatedLoginRefused) {
        audit.warn({ event: 'login.upstream.refused', upstream: upstream.id, reason: error.code, ip: ctx.ip }, 'federated sign-in refused');
        return pages.sendError(ctx, 403, { heading: 'Sign-in refused', message: error.message, code: error.code, retry });
      }
      // A check failed (iss, aud, nonce, signature, expiry, PKCE, …): never sign anyone in on it.
      audit.warn(
        { event: 'login.upstream.failed', upstream: upstream.id, reason: 'invalid_response', err: String(error).slice(0, 300), ip: ctx.ip },
        'upstream answer failed a check',
      );
      return pages.sendError(ctx, 400, {
        heading: 'This sign-in could not be verified',
        message: `The answer from ${upstream.name} did not pass our checks, so nobody was signed in.`,
        code: 'invalid_upstream_response',
        retry,
      });
    }

    // The interaction cookie is scoped to /interaction/<uid> and so is not sent here: the
    // interaction is found by the uid the pending sign-in kept, and its result is written as
    // provider.interactionFinished writes it. The resume step then checks oidc-provider's own
    // resume cookie, which binds the end of the flow to the browser that started it.
    const interaction = await provider().Interaction.find(pending.uid);
    if (!interaction) return expired(ctx);
    interaction.result = { login: { accountId: account.id } };
    await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
    audit.info(
      { event: 'login.success', method: 'upstream', upstream: upstream.id, sub: account.id, username: account.username, ip: ctx.ip },
      'login ok',
    );
    ctx.status = 303;
    ctx.redirect(interaction.returnTo);
  });

  function expired(ctx: Context) {
    pages.sendError(ctx, 400, {
      heading: 'This sign-in has expired',
      message: 'The sign-in page you used is no longer valid (it expired, was already used, or cookies were blocked).',
      code: 'invalid_interaction',
    });
  }

  function unavailable(ctx: Context, upstream: UpstreamProvider, uid: string, error: unknown) {
    audit.warn(
      {
        event: 'login.upstream.failed',
        upstream: upstream.id,
        reason: 'unavailable',
        err: String((error as Error).cause ?? error),
        ip: ctx.ip,
      },
      'upstream unavailable',
    );
    pages.sendError(ctx, 502, {
      heading: `${upstream.name} is not answering`,
      message: `We could not reach ${upstream.name} to sign you in. Try again in a moment, or choose another way to sign in.`,
      code: 'upstream_unavailable',
      retry: retryUrl(uid),
    });
  }

  return router;
}

/** Where an upstream sends the browser back: register exactly this at the upstream. */
export function callbackUrl(issuer: string, id: string): string {
  return `${issuer}/upstream/${id}/callback`;
}
