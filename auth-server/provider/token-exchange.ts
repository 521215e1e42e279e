import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

/** RFC 8693 §2.1. */
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** RFC 8693 §3: an OAuth 2.0 access token. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

type ExchangeHandler = (ctx: KoaContextWithOIDC) => Promise<void>;

/** The request parameters both handlers read: the ones registered with the grant below. */
export interface TokenExchangeParams {
  requested_token_type?: string;
  subject_token?: string;
  subject_token_type?: string;
  actor_token?: string;
  audience?: string | string[];
  resource?: string | string[];
  scope?: string;
}

/**
 * RFC 8693 token exchange, registered once: oidc-provider takes one handler per grant type, and
 * this server exchanges two kinds of subject token for two purposes. The request's
 * `subject_token_type` picks the handler:
 * - `access_token` → the user's kept upstream token, for the resource server's own client
 *   (upstream/vault-exchange.ts, AUTH_UPSTREAMS with storeTokens);
 * - anything else → the ID-JAG exchange (enterprise/token-exchange-grant.ts, AUTH_ID_JAG_TARGETS),
 *   which takes an `id_token` and refuses (and audits) every other type itself.
 * With only one of the two on, a request for the other is refused with `invalid_request`.
 *
 * ```ts source="./token-exchange.examples.ts#registerTokenExchange"
 * registerTokenExchange(provider, { idJag: idJagHandler, vault: vaultHandler });
 * ```
 */
export function registerTokenExchange(provider: Provider, handlers: { idJag?: ExchangeHandler; vault?: ExchangeHandler }): void {
  const { idJag, vault } = handlers;
  if (!idJag && !vault) return;

  async function dispatch(ctx: KoaContextWithOIDC): Promise<void> {
    const type = (ctx.oidc.params as { subject_token_type?: unknown }).subject_token_type;
    if (type === ACCESS_TOKEN_TYPE && vault) return vault(ctx);
    if (idJag) return idJag(ctx);
    throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
  }

  provider.registerGrantType(TOKEN_EXCHANGE, dispatch, [
    'requested_token_type',
    'subject_token',
    'subject_token_type',
    'actor_token',
    'actor_token_type',
    'audience',
    'resource',
    'scope',
  ]);
}
