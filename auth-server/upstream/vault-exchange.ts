import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../../common/logger.ts';
import { SealedSecretError } from '../keys/secrets-at-rest.ts';
import type { SigningJwk } from '../keys/key-store.ts';
import { ALLOWED_RESOURCES } from '../provider/client-marks.ts';
import { isResourceServerClient } from '../provider/client-policy.ts';
import { ACCESS_TOKEN_TYPE, type TokenExchangeParams } from '../provider/token-exchange.ts';
import type { AccountStore, LockStore } from '../storage/store.ts';
import type { TokenVault, UpstreamTokens } from './token-vault.ts';
import { isResponseBodyError, UpstreamUnavailableError, type UpstreamClient } from './upstream-client.ts';
import type { UpstreamProvider } from './upstream-config.ts';

/** A kept token this close to its expiry (seconds) is refreshed first, so the caller gets one that lasts its call. */
const REFRESH_MARGIN = 60;
/** How long one instance may hold a refresh of one (account, upstream) before another may take over (ms). */
const REFRESH_LEASE_MS = 15_000;
/** Seconds of clock skew accepted on the subject token's exp/nbf (it is our own token, from our own clock). */
const CLOCK_TOLERANCE = 5;

export interface VaultExchangeDeps {
  issuer: string;
  /** The upstreams with storeTokens, each with its client (for refreshes). */
  upstreams: { provider: UpstreamProvider; client: Pick<UpstreamClient, 'refresh'> }[];
  vault: TokenVault;
  /** Our private signing keys: the subject token is verified with their public halves. */
  keys: { keys: SigningJwk[] };
  accounts: AccountStore;
  /** Serialises refreshes of one kept token across instances (the upstream may rotate refresh tokens). */
  locks: LockStore;
  audit: Logger;
  now?: () => number;
}

/**
 * RFC 8693 token exchange for the token vault: the resource server trades the MCP access token a
 * tool was called with (`subject_token`, a JWT we issued, `subject_token_type` access_token) for
 * the user's kept upstream access token at `audience` = the upstream's id (AUTH_UPSTREAMS `id`).
 *
 * Checks, each refused with its own description: the client is the resource server's (the
 * RESOURCE_SERVER mark, so confidential and set by the operator alone: `unauthorized_client`);
 * the subject token is ours (signature with our keys, `iss`, `typ` at+jwt, `exp`) and for one of
 * that client's own resources (`allowed_resources`), and its user exists and is enabled
 * (`invalid_grant`); the audience is an upstream with storeTokens (`invalid_target`); a token is
 * kept (`invalid_grant`). A kept token that is expired or about to be is refreshed at the
 * upstream first, the rotated refresh token kept; a refused refresh forgets the kept tokens.
 * The MCP client's token never leaves this server: only the upstream's own token is returned.
 *
 * ```ts source="./vault-exchange.examples.ts#vaultExchangeHandler"
 * const upstreams = [{ provider: github, client: upstreamClient(github, `${issuer}/upstream/github/callback`) }];
 * registerTokenExchange(provider, {
 *   vault: vaultExchangeHandler({ issuer, upstreams, vault, keys: keys.jwks, accounts: storage.accounts, locks: storage.locks, audit }),
 * });
 * ```
 */
export function vaultExchangeHandler(deps: VaultExchangeDeps) {
  const now = deps.now ?? Date.now;
  const publicKeys = createLocalJWKSet({ keys: deps.keys.keys.map(publicJwk) });
  const byId = new Map(deps.upstreams.map((u) => [u.provider.id, u]));

  return async function vaultExchange(ctx: KoaContextWithOIDC): Promise<void> {
    const client = ctx.oidc.client!;
    const params = ctx.oidc.params as TokenExchangeParams;
    const refuse = <E extends Error>(error: E, reason: string, details: Record<string, unknown> = {}) => {
      deps.audit.warn(
        { event: 'vault.exchange_refused', client_id: client.clientId, reason, ip: ctx.ip, ...details },
        'token exchange refused',
      );
      return error;
    };
    if (!isResourceServerClient(client)) {
      throw refuse(
        new errors.UnauthorizedClient("only the resource server's own client may exchange an access token for an upstream token"),
        'not_resource_server',
      );
    }
    if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
      throw refuse(new errors.InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`), 'requested_token_type');
    }
    if (typeof params.subject_token !== 'string' || params.subject_token === '') {
      throw new errors.InvalidRequest("missing required parameter 'subject_token'");
    }
    if (params.actor_token !== undefined) throw refuse(new errors.InvalidRequest('actor_token is not supported'), 'actor_token');
    if (params.resource !== undefined) {
      throw refuse(
        new errors.InvalidTarget('name the upstream with audience=<its id>; resource is not used for upstream tokens'),
        'resource',
      );
    }
    if (typeof params.audience !== 'string' || params.audience === '') {
      throw refuse(new errors.InvalidTarget('audience must name exactly one upstream (its id)'), 'audience');
    }
    const upstream = byId.get(params.audience);
    if (!upstream) {
      throw refuse(new errors.InvalidTarget(`no upstream tokens are kept for "${params.audience.slice(0, 64)}"`), 'unknown_audience');
    }

    const subject = await verifySubjectToken(params.subject_token).catch((error: unknown) => {
      throw refuse(invalidGrant(`subject_token is not a valid access token from this server: ${describe(error)}`), 'bad_subject_token');
    });
    const allowed = client.metadata()[ALLOWED_RESOURCES];
    const audiences = [subject.aud].flat();
    if (!Array.isArray(allowed) || !audiences.some((aud) => typeof aud === 'string' && allowed.includes(aud))) {
      throw refuse(invalidGrant("subject_token is not for this resource server's resource"), 'foreign_audience', {
        aud: subject.aud,
      });
    }
    const accountId = subject.sub;
    if (typeof accountId !== 'string' || accountId === subject.client_id) {
      throw refuse(invalidGrant('subject_token has no user (a client_credentials token)'), 'no_user');
    }
    const account = await deps.accounts.findById(accountId);
    if (!account || account.disabledAt !== null) {
      throw refuse(invalidGrant('the user of subject_token cannot get tokens'), 'account_unavailable', { sub: accountId });
    }

    const { provider } = upstream;
    const tokens = await currentTokens(accountId, upstream, refuse);
    deps.audit.info(
      { event: 'vault.exchanged', client_id: client.clientId, sub: accountId, upstream: provider.id, jti: subject.jti },
      'upstream token handed to the resource server',
    );
    const expiresIn = tokens.expiresAt === undefined ? undefined : Math.max(0, tokens.expiresAt - Math.floor(now() / 1000));
    ctx.body = {
      access_token: tokens.accessToken,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      ...(expiresIn === undefined ? {} : { expires_in: expiresIn }),
      ...(tokens.scope ? { scope: tokens.scope } : {}),
    };
  };

  async function verifySubjectToken(token: string): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, publicKeys, {
      issuer: deps.issuer,
      typ: 'at+jwt',
      // Access tokens are ES256 (provider/resources.ts); never a symmetric or "none" algorithm.
      algorithms: ['ES256'],
      clockTolerance: CLOCK_TOLERANCE,
      currentDate: new Date(now()),
      requiredClaims: ['exp', 'sub', 'aud'],
    });
    return payload;
  }

  /** The kept tokens, refreshed first when they are expired or about to be. */
  async function currentTokens(
    accountId: string,
    upstream: VaultExchangeDeps['upstreams'][number],
    refuse: <E extends Error>(error: E, reason: string, details?: Record<string, unknown>) => E,
  ): Promise<UpstreamTokens> {
    const { provider } = upstream;
    const signInAgain = `sign in through ${provider.name} again to keep a new one`;
    const load = async () => {
      try {
        return await deps.vault.load(accountId, provider.id);
      } catch (error) {
        if (!(error instanceof SealedSecretError)) throw error;
        deps.audit.error(
          { event: 'vault.unreadable', sub: accountId, upstream: provider.id, err: error.message },
          'kept upstream token cannot be opened',
        );
        throw refuse(
          invalidGrant(`the kept ${provider.name} token cannot be decrypted (was AUTH_ENCRYPTION_KEY changed?); ${signInAgain}`),
          'unreadable',
        );
      }
    };
    const fresh = (tokens: UpstreamTokens) => tokens.expiresAt === undefined || tokens.expiresAt - REFRESH_MARGIN > now() / 1000;

    let kept = await load();
    if (!kept)
      throw refuse(invalidGrant(`no ${provider.name} token is kept for this user; ${signInAgain}`), 'nothing_kept', {
        upstream: provider.id,
      });
    if (fresh(kept.tokens)) return kept.tokens;

    const key = `vault:${accountId}:${provider.id}`;
    const owner = randomUUID();
    // Another instance refreshing the same token: wait for its result rather than spend the
    // refresh token twice (an upstream that rotates them would see reuse and revoke the chain).
    for (let waited = 0; !(await deps.locks.acquire(key, owner, REFRESH_LEASE_MS)); waited += 100) {
      if (waited >= REFRESH_LEASE_MS) throw unavailable('another refresh of this token is in progress; try again');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    try {
      kept = await load();
      if (!kept) throw refuse(invalidGrant(`no ${provider.name} token is kept for this user; ${signInAgain}`), 'nothing_kept');
      if (fresh(kept.tokens)) return kept.tokens;
      if (!kept.tokens.refreshToken) {
        throw refuse(invalidGrant(`the kept ${provider.name} token has expired and there is no refresh token; ${signInAgain}`), 'expired');
      }
      let refreshed: UpstreamTokens;
      try {
        refreshed = await upstream.client.refresh(kept.tokens.refreshToken);
      } catch (error) {
        if (error instanceof UpstreamUnavailableError) {
          deps.audit.warn(
            { event: 'vault.refresh_failed', sub: accountId, upstream: provider.id, reason: 'unavailable' },
            'upstream unreachable',
          );
          throw unavailable(`${provider.name} could not be reached to refresh the kept token; try again later`);
        }
        if (isResponseBodyError(error) && (error.error === 'invalid_grant' || error.status === 400 || error.status === 401)) {
          // Revoked or expired at the upstream: the kept tokens are worth nothing now.
          await deps.vault.remove(accountId, provider.id);
          throw refuse(
            invalidGrant(`${provider.name} refused to refresh the kept token (${error.error}: revoked or expired); ${signInAgain}`),
            'refresh_refused',
            { upstream: provider.id, upstream_error: error.error },
          );
        }
        deps.audit.warn(
          { event: 'vault.refresh_failed', sub: accountId, upstream: provider.id, err: describe(error) },
          'upstream refresh failed',
        );
        throw unavailable(`${provider.name} answered the refresh with something we cannot use; try again later`);
      }
      await deps.vault.update(accountId, provider.id, kept.version, refreshed);
      deps.audit.info({ event: 'vault.refreshed', sub: accountId, upstream: provider.id }, 'kept upstream token refreshed');
      return refreshed;
    } finally {
      await deps.locks.release(key, owner);
    }
  }
}

/** The public half of one of our signing keys. */
function publicJwk(jwk: SigningJwk): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rest } = jwk as SigningJwk & Record<string, unknown>;
  return rest as JWK;
}

/** oidc-provider's invalid_grant says only "grant request is invalid"; the caller needs to know why. */
function invalidGrant(message: string): InstanceType<typeof errors.InvalidGrant> {
  return Object.assign(new errors.InvalidGrant(message), { error_description: message });
}

/** 503 temporarily_unavailable with its description (oidc-provider's is a 400, and hides descriptions of 5xx errors). */
function unavailable(message: string): InstanceType<typeof errors.TemporarilyUnavailable> {
  return Object.assign(new errors.TemporarilyUnavailable(message), { status: 503, statusCode: 503, expose: true });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 200) : String(error).slice(0, 200);
}
