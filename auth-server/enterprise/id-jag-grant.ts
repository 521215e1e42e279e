import { createHash, randomUUID } from 'node:crypto';
import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { findAccountFor } from '../accounts/claims.ts';
import type { Logger } from '../../common/logger.ts';
import type { ProtectedResourceConfig } from '../config.ts';
import { dpopProofOf, spendDpopProof } from '../provider/dpop-binding.ts';
import { resourceIndicators } from '../provider/resources.ts';
import type { AccountStore, LockStore } from '../storage/store.ts';
import { FederatedLoginRefused, federatedAccount, type AccountSource } from '../upstream/federated-accounts.ts';
import { CLOCK_TOLERANCE, IdJagRefused, verifyIdJag, type VerifiedIdJag } from './id-jag.ts';
import { idpKeys, IdpUnavailableError } from './idp-keys.ts';
import type { TrustedIdp } from './trusted-idps.ts';

/** RFC 7523 §2.1: a JWT used as an authorization grant. */
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** The grant profile servers that accept ID-JAGs advertise (draft-ietf-oauth-identity-assertion-authz-grant). */
export const ID_JAG_PROFILE = 'urn:ietf:params:oauth:grant-profile:id-jag';

export interface IdJagGrantDeps {
  issuer: string;
  idps: TrustedIdp[];
  resources: ProtectedResourceConfig[];
  accounts: AccountStore;
  /** Single use of each `jti`, across every instance sharing the store. */
  locks: LockStore;
  audit: Logger;
  now?: () => number;
}

/**
 * Registers the `jwt-bearer` grant for ID-JAGs (Enterprise-Managed Authorization, SEP-990 §5):
 * a confidential client presents a grant its users' enterprise IdP issued, and gets an access
 * token for the grant's resource, for the account of the grant's subject (created just in time,
 * linked to `idp:<issuer>` + `sub`). No consent page (the IdP's policy decided) and no refresh
 * token: the client gets a fresh ID-JAG from the IdP instead, so the IdP stays in control.
 *
 * Granted scope: the requested scopes (default: all of the grant's) ∩ the grant's scopes (default:
 * the resource's default scopes) ∩ the resource's scopes. Every refusal is `invalid_grant`, with
 * its reason in the audit log (`id_jag.refused`). With a DPoP proof (RFC 9449) the access token is
 * bound to its key (`cnf.jkt`, token_type DPoP), checked by oidc-provider's own code (dpop-binding.ts).
 *
 * ```ts source="./id-jag-grant.examples.ts#registerIdJagGrant"
 * registerIdJagGrant(provider, { issuer, idps: config.trustedIdps, resources: config.resources, accounts, locks, audit });
 * ```
 */
export function registerIdJagGrant(provider: Provider, deps: IdJagGrantDeps): void {
  const keys = idpKeys(deps.idps);
  const now = deps.now ?? Date.now;
  const indicators = resourceIndicators(deps.resources);
  const known = deps.resources.map((r) => r.url);
  const findAccount = findAccountFor(deps.accounts);

  async function handler(ctx: KoaContextWithOIDC) {
    const client = ctx.oidc.client!;
    const params = ctx.oidc.params as { assertion?: string; scope?: string; resource?: string | string[] };
    const refuse = (reason: string, message: string, details: Record<string, unknown> = {}) => {
      deps.audit.warn({ event: 'id_jag.refused', client_id: client.clientId, reason, ip: ctx.ip, ...details }, 'ID-JAG refused');
      return new errors.InvalidGrant(message);
    };
    // Defence in depth: client-policy.ts keeps the grant off public clients already.
    if (client.clientAuthMethod === 'none') throw refuse('public_client', 'a public client cannot use this grant');
    if (typeof params.assertion !== 'string' || params.assertion === '') {
      throw new errors.InvalidRequest("missing required parameter 'assertion'");
    }
    // RFC 9449: a DPoP proof binds the access token to the client's key, as client_credentials does.
    const dPoP = await dpopProofOf(ctx);

    let grant: VerifiedIdJag;
    try {
      grant = await verifyIdJag(params.assertion, {
        idps: deps.idps,
        keys,
        issuer: deps.issuer,
        clientId: client.clientId,
        resources: known,
        now: () => new Date(now()),
      });
    } catch (error) {
      if (error instanceof IdJagRefused) throw refuse(error.reason, error.message, { iss: error.issuer });
      if (error instanceof IdpUnavailableError) {
        deps.audit.error({ event: 'id_jag.idp_unavailable', client_id: client.clientId, err: error }, 'identity provider keys unavailable');
        throw new errors.TemporarilyUnavailable('the identity provider could not be reached; try again later');
      }
      throw error;
    }
    const where = { iss: grant.idp.issuer, jti: grant.jti, sub: grant.subject, resource: grant.resource };

    const requestedResources = params.resource === undefined ? [] : [params.resource].flat();
    if (requestedResources.some((r) => r !== grant.resource)) {
      throw refuse('resource_mismatch', 'the resource parameter differs from the assertion', where);
    }

    const resource = deps.resources.find((r) => r.url === grant.resource)!;
    const granted = grantedScopes(params.scope, grant.scopes ?? resource.defaultScopes, resource.scopes, client.scope);
    if (granted.length === 0) throw refuse('no_scope', 'no requested scope is granted by the assertion', where);

    // A replayed DPoP proof must not burn the grant either, so its jti goes first.
    const jkt = await spendDpopProof(ctx, dPoP);
    // Last check, so a refused request does not burn the grant; held until the grant has expired for good.
    const ttlMs = (grant.expiresAt + CLOCK_TOLERANCE) * 1000 - now();
    const key = `id-jag:${createHash('sha256').update(`${grant.idp.issuer}\n${grant.jti}`).digest('base64url')}`;
    if (!(await deps.locks.acquire(key, randomUUID(), Math.max(ttlMs, 1000)))) {
      throw refuse('replayed', 'the assertion has been used already', where);
    }

    let accountId: string;
    try {
      const account = await federatedAccount(deps.accounts, accountSource(grant.idp), identityOf(grant));
      accountId = account.id;
    } catch (error) {
      if (error instanceof FederatedLoginRefused) throw refuse(error.code, 'the account of this assertion cannot get tokens', where);
      throw error;
    }
    // The provider's account object (findAccountFor): the audit line then names the username.
    const account = await findAccount(ctx, accountId);
    if (!account) throw refuse('account_disabled', 'the account of this assertion cannot get tokens', where);
    ctx.oidc.entity('Account', account);

    const info = await indicators.getResourceServerInfo(ctx, grant.resource);
    // No Grant behind it: nothing here outlives the access token (no refresh token, no consent to revoke).
    const token = new ctx.oidc.provider.AccessToken({ accountId, client, gty: 'jwt_bearer', scope: granted.join(' ') } as never);
    token.resourceServer = new ctx.oidc.provider.ResourceServer(grant.resource, info);
    if (jkt) token.setThumbprint('jkt', jkt);
    ctx.oidc.entity('AccessToken', token);
    const value = await token.save();
    deps.audit.info({ event: 'id_jag.redeemed', client_id: client.clientId, ...where, scope: token.scope }, 'ID-JAG redeemed');
    ctx.body = {
      access_token: value,
      token_type: token.tokenType,
      expires_in: token.expiration,
      scope: token.scope,
    };
  }

  provider.registerGrantType(JWT_BEARER, handler, ['assertion', 'scope', 'resource']);
}

/**
 * RFC 6749 §3.3 with the grant as the ceiling: what was asked (or, when nothing was, all the
 * grant allows), limited to the grant, the resource and the client's registered scope.
 */
function grantedScopes(requested: string | undefined, allowed: string[], resourceScopes: string[], clientScope: string | undefined) {
  const asked = requested?.split(' ').filter(Boolean);
  const clientScopes = clientScope ? new Set(clientScope.split(' ')) : undefined;
  return [...new Set(asked?.length ? asked : allowed)].filter(
    (scope) => allowed.includes(scope) && resourceScopes.includes(scope) && (!clientScopes || clientScopes.has(scope)),
  );
}

/** The IdP as a source of accounts: an OIDC-like issuer that never links to existing accounts by email. */
function accountSource(idp: TrustedIdp): AccountSource {
  return {
    id: idp.linkId,
    name: idp.name,
    type: 'oidc',
    linkByEmail: false,
    allowedEmailDomains: undefined,
    defaultRole: idp.defaultRole,
    roles: idp.roles,
    fallbackUsername: 'enterprise-user',
  };
}

function identityOf(grant: VerifiedIdJag) {
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
  return {
    subject: grant.subject,
    email: text(grant.claims.email),
    emailVerified: grant.claims.email_verified === true,
    name: text(grant.claims.name),
    username: text(grant.claims.preferred_username),
    claims: grant.claims as Record<string, unknown>,
  };
}
