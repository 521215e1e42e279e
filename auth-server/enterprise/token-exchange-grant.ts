import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../../common/logger.ts';
import { findAccountFor } from '../accounts/claims.ts';
import type { SigningJwk } from '../keys/key-store.ts';
import type { AccountStore } from '../storage/store.ts';
import { CLOCK_TOLERANCE, ID_JAG_TYP } from './id-jag.ts';
import type { IdJagTarget } from './id-jag-targets.ts';
import type { TokenExchangeParams } from '../provider/token-exchange.ts';

/** The token type of an ID-JAG (SEP-990 §4). */
export const ID_JAG_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id-jag';
/** RFC 8693 §3: an OpenID Connect ID token. */
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

export interface TokenExchangeDeps {
  issuer: string;
  targets: IdJagTarget[];
  /** Our private signing keys: the first ES256 key signs the ID-JAGs (as it signs access tokens). */
  keys: { keys: SigningJwk[] };
  accounts: AccountStore;
  audit: Logger;
  now?: () => number;
}

/**
 * RFC 8693 token exchange of an ID token for an ID-JAG: this server as the enterprise IdP of
 * Enterprise-Managed Authorization (SEP-990 §4). A confidential client presents the ID token we
 * issued to it for a user (`subject_token`), names another organisation's authorization server
 * (`audience`, one of AUTH_ID_JAG_TARGETS) and its MCP server (`resource`), and gets an ID-JAG
 * signed with our key for that user, which it redeems there with the jwt-bearer grant.
 *
 * Checks: client authentication (public clients never have the grant); `requested_token_type`
 * id-jag and `subject_token_type` id_token; the ID token's signature, `iss` (us), `aud` (this
 * client) and `exp`; the user's account exists and is enabled; the audience and resource are
 * configured and this client may get grants for them; the scope is within the target's.
 * Refusals follow RFC 8693 §2.2.2: `invalid_request` for a bad request or subject token,
 * `invalid_target` for an audience or resource we do not issue for, `invalid_scope`.
 *
 * The grant itself is registered once, by provider/token-exchange.ts, which sends requests with
 * `subject_token_type` id_token here.
 *
 * ```ts source="./token-exchange-grant.examples.ts#idJagExchangeHandler"
 * registerTokenExchange(provider, {
 *   idJag: idJagExchangeHandler({ issuer, targets: config.idJagTargets, keys: keys.jwks, accounts, audit }),
 * });
 * ```
 */
export function idJagExchangeHandler(deps: TokenExchangeDeps): (ctx: KoaContextWithOIDC) => Promise<void> {
  const now = deps.now ?? Date.now;
  const findAccount = findAccountFor(deps.accounts);
  let signingKey: Promise<{ key: CryptoKey; kid: string }> | undefined;
  const signer = () => {
    signingKey ??= (async () => {
      const jwk = deps.keys.keys.find((k) => k.alg === 'ES256');
      if (!jwk) throw new Error('no ES256 signing key for ID-JAGs');
      return { key: (await importJWK(jwk, 'ES256')) as CryptoKey, kid: jwk.kid };
    })();
    return signingKey;
  };

  async function handler(ctx: KoaContextWithOIDC) {
    const client = ctx.oidc.client!;
    const params = ctx.oidc.params as TokenExchangeParams;
    const refuse = <E extends Error>(error: E, reason: string, details: Record<string, unknown> = {}) => {
      deps.audit.warn(
        { event: 'id_jag.exchange_refused', client_id: client.clientId, reason, ip: ctx.ip, ...details },
        'token exchange refused',
      );
      return error;
    };
    if (client.clientAuthMethod === 'none') {
      throw refuse(new errors.UnauthorizedClient('a public client cannot exchange tokens'), 'public_client');
    }
    if (params.requested_token_type !== ID_JAG_TOKEN_TYPE) {
      throw refuse(new errors.InvalidRequest(`requested_token_type must be ${ID_JAG_TOKEN_TYPE}`), 'requested_token_type');
    }
    if (params.subject_token_type !== ID_TOKEN_TYPE) {
      throw refuse(new errors.InvalidRequest(`subject_token_type must be ${ID_TOKEN_TYPE}`), 'subject_token_type');
    }
    if (typeof params.subject_token !== 'string' || params.subject_token === '') {
      throw new errors.InvalidRequest("missing required parameter 'subject_token'");
    }
    if (params.actor_token !== undefined) {
      throw refuse(new errors.InvalidRequest('actor_token is not supported'), 'actor_token');
    }
    if (typeof params.audience !== 'string' || typeof params.resource !== 'string') {
      throw refuse(new errors.InvalidRequest('exactly one audience and one resource are required'), 'audience_or_resource');
    }

    const target = deps.targets.find((t) => t.audience === params.audience);
    if (!target)
      throw refuse(new errors.InvalidTarget('no ID-JAGs are issued for this audience'), 'unknown_audience', { audience: params.audience });
    if (!target.resources.includes(params.resource)) {
      throw refuse(new errors.InvalidTarget('no ID-JAGs are issued for this resource'), 'unknown_resource', { audience: target.audience });
    }
    const clientIdThere = target.clients === '*' ? client.clientId : target.clients[client.clientId];
    if (!clientIdThere) {
      throw refuse(new errors.InvalidTarget('this client may not get ID-JAGs for this audience'), 'client_not_allowed', {
        audience: target.audience,
      });
    }

    // oidc-provider's own ID token check (signature with our keys, iss, aud = this client); it leaves expiry to us.
    let subject: JWTPayload;
    try {
      const IdToken = (
        ctx.oidc.provider as unknown as { IdToken: { validate(jwt: string, client: unknown): Promise<{ payload: JWTPayload }> } }
      ).IdToken;
      ({ payload: subject } = await IdToken.validate(params.subject_token, client));
    } catch {
      throw refuse(new errors.InvalidRequest('subject_token is not a valid ID token issued to this client'), 'bad_subject_token');
    }
    if (typeof subject.exp !== 'number' || subject.exp + CLOCK_TOLERANCE < now() / 1000) {
      throw refuse(new errors.InvalidRequest('subject_token has expired'), 'expired_subject_token');
    }
    const account = typeof subject.sub === 'string' ? await deps.accounts.findById(subject.sub) : undefined;
    if (!account || account.disabledAt !== null) {
      throw refuse(new errors.InvalidRequest('the user of subject_token cannot get grants'), 'account_unavailable', { sub: subject.sub });
    }

    const asked = params.scope?.split(' ').filter(Boolean);
    const scopes = asked?.length ? (target.scopes ? asked.filter((s) => target.scopes!.includes(s)) : asked) : target.scopes;
    if (asked?.length && !scopes?.length)
      throw refuse(new errors.InvalidScope('no requested scope may be granted there', params.scope!), 'no_scope');

    const { key, kid } = await signer();
    const iat = Math.floor(now() / 1000);
    const jti = randomUUID();
    const grant = await new SignJWT({
      client_id: clientIdThere,
      resource: params.resource,
      ...(scopes?.length ? { scope: scopes.join(' ') } : {}),
      // SEP-990 §4.3 notes: an email lets the other side link an existing account; ours is unverified.
      ...(account.email ? { email: account.email } : {}),
      preferred_username: account.username,
    })
      .setProtectedHeader({ alg: 'ES256', kid, typ: ID_JAG_TYP })
      .setIssuer(deps.issuer)
      .setSubject(account.id)
      .setAudience(target.audience)
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(iat + target.lifetime)
      .sign(key);
    // The provider's account object (findAccountFor): the audit line then names the username.
    const loaded = await findAccount(ctx, account.id);
    if (loaded) ctx.oidc.entity('Account', loaded);
    deps.audit.info(
      { event: 'id_jag.issued', client_id: client.clientId, sub: account.id, audience: target.audience, resource: params.resource, jti },
      'ID-JAG issued',
    );
    ctx.body = {
      issued_token_type: ID_JAG_TOKEN_TYPE,
      access_token: grant,
      token_type: 'N_A',
      expires_in: target.lifetime,
      ...(scopes?.length ? { scope: scopes.join(' ') } : {}),
    };
  }

  return handler;
}
