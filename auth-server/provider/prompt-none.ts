import { errors, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

const { Check, Prompt, base } = interactionPolicy;

/**
 * oidc-provider's interaction policy with one rule in front: `prompt=none` may only redirect for a
 * client the signed-in user has already authorized.
 *
 * Why (RFC 9700 §4.11.2): registration is open, so anyone can register
 * `https://evil.example/landing` and send victims to `/auth?…&prompt=none`. Without a rule, the
 * answer is an immediate `login_required` or `consent_required` redirect to that URI with no page
 * in between: an open redirector with our domain in the link. When there is no signed-in user, or
 * she has no grant for the client, we cannot trust its redirect URI, so the user gets our error
 * page instead. A client she already authorized keeps the normal behaviour (a code, or an error
 * redirect).
 *
 * The check throws rather than asks for a prompt: a pending prompt under `prompt=none` is exactly
 * what becomes the redirect, while an error that may not redirect is rendered by `renderError`.
 *
 * ```ts source="./prompt-none.examples.ts#promptNonePolicy"
 * const configuration: Configuration = {
 *   interactions: { policy: promptNonePolicy(), url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
 * };
 * ```
 */
export function promptNonePolicy(): interactionPolicy.Prompt[] {
  const policy = base();
  policy.unshift(
    new Prompt(
      { name: 'trusted_redirect', requestable: false },
      new Check('prompt_none_untrusted_client', 'prompt=none for a client the user has not authorized', async (ctx) => {
        if (ctx.oidc.route !== 'authorization' || !ctx.oidc.promptPending('none')) return Check.NO_NEED_TO_PROMPT;
        const accountId = ctx.oidc.session?.accountId;
        if (!accountId)
          throw notRedirectable('login_required', 'prompt=none needs a user who is signed in and has already authorized this application');
        if (!(await authorizedBefore(ctx, accountId))) {
          throw notRedirectable('consent_required', 'prompt=none needs a user who has already authorized this application');
        }
        return Check.NO_NEED_TO_PROMPT;
      }),
    ),
  );
  return policy;
}

/** A grant from this user to this client, linked to the browser session and still alive. */
async function authorizedBefore(ctx: KoaContextWithOIDC, accountId: string): Promise<boolean> {
  const clientId = ctx.oidc.client?.clientId;
  if (!clientId) return false;
  const grantId = ctx.oidc.session?.grantIdFor(clientId);
  if (!grantId) return false;
  const grant = await ctx.oidc.provider.Grant.find(grantId);
  return grant?.accountId === accountId && grant.clientId === clientId;
}

/** An authorization error oidc-provider renders with our error page instead of redirecting. */
function notRedirectable(error: string, description: string): Error {
  const err = new errors.CustomOIDCProviderError(error, description);
  (err as unknown as { allow_redirect: boolean }).allow_redirect = false;
  return err;
}
