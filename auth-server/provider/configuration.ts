import type { Configuration, KoaContextWithOIDC, UnknownObject } from 'oidc-provider';
import type { AuthServerConfig } from '../config.ts';
import { describeClient } from '../interactions/client-display.ts';
import { describeDeviceRequest } from '../interactions/device-request.ts';
import type { Pages } from '../interactions/pages.ts';
import type { AccountStore } from '../storage/store.ts';
import type { SigningJwk } from '../keys/key-store.ts';
import { ID_JAG_PROFILE } from '../enterprise/id-jag-grant.ts';
import { adminConsoleClient, loadExistingGrant } from '../admin/admin-client.ts';
import { clientAssertionPolicy } from './client-assertion.ts';
import { clientPolicy } from './client-policy.ts';
import { OUTGOING_BODY_LIMIT, outgoingFetch } from './outgoing-fetch.ts';
import { promptNonePolicy } from './prompt-none.ts';
import { resourceIndicators } from './resources.ts';
import { introspectionAllowed, revocationAllowed } from './token-endpoint-policies.ts';

export interface ProviderDeps {
  config: AuthServerConfig;
  jwks: { keys: SigningJwk[] };
  cookieKeys: string[];
  adapter: Configuration['adapter'];
  findAccount: Configuration['findAccount'];
  accounts: AccountStore;
  pages: Pages;
  /** The issuer's path ('' at the root). */
  prefix: string;
}

/** ID-token lifetime (s); key rotation keeps a retired RS256 key published this long (keys/signing-keys.ts). */
export const ID_TOKEN_TTL = 3600;

/** Grants whose tokens are issued for a user (and so get a refresh token). */
const REFRESHABLE = new Set(['AuthorizationCode', 'DeviceCode', 'RefreshToken']);

/**
 * The whole oidc-provider configuration; every choice that differs from its defaults says why.
 *
 * ```ts source="./configuration.examples.ts#providerConfiguration"
 * const provider = new Provider(deps.config.issuer, providerConfiguration(deps));
 * ```
 */
export function providerConfiguration(deps: ProviderDeps): Configuration {
  const { config, pages } = deps;
  const secure = config.issuer.startsWith('https://');
  const resourceScopes = [...new Set(config.resources.flatMap((r) => r.scopes))];
  const display = (ctx: KoaContextWithOIDC) => describeClient(ctx.oidc.client);
  const outgoing = outgoingFetch({ relaxForMetadataDocuments: config.cimd.allowPrivateFetch });

  return {
    adapter: deps.adapter,
    findAccount: deps.findAccount,
    // The admin console signs in through our login as a first-party client (admin/admin-client.ts).
    clients: [adminConsoleClient(config.issuer)],
    loadExistingGrant,
    jwks: deps.jwks,
    // Resource scopes are listed here too: dynamic registrations that name them are then accepted.
    scopes: ['openid', 'offline_access', 'profile', 'email', ...resourceScopes],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', 'roles'],
      email: ['email', 'email_verified'],
    },
    clientDefaults: {
      // MCP clients are public clients with PKCE; refresh tokens for every code client.
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'RS256',
    },
    extraClientMetadata: clientPolicy(resourceScopes, {
      registrationNeedsToken: Boolean(config.registration.initialAccessToken),
      resources: config.resources.map((r) => r.url),
    }),
    // private_key_jwt: aud is the issuer alone, short-lived assertions (RFC 7523bis).
    assertJwtClientAuthClaimsAndHeader: clientAssertionPolicy({ compat: config.clientAssertionAudCompat }),
    pkce: { required: () => true },
    // With trusted enterprise IdPs, the jwt-bearer grant (registered in app.ts) takes ID-JAGs.
    discovery: {
      claim_types_supported: ['normal'],
      ...(config.trustedIdps.length ? { authorization_grant_profiles_supported: [ID_JAG_PROFILE] } : {}),
    },
    responseTypes: ['code', 'none'],
    cookies: {
      keys: deps.cookieKeys,
      names: cookieNames(secure, deps.prefix),
      long: { signed: true, secure, sameSite: 'lax', httpOnly: true },
      short: { signed: true, secure, sameSite: 'lax', httpOnly: true },
    },
    interactions: {
      url: (_ctx, interaction) => `${deps.prefix}/interaction/${interaction.uid}`,
      // prompt=none redirects only for clients the user already authorized (open-redirect guard).
      policy: promptNonePolicy(),
    },
    routes: {
      authorization: '/auth',
      token: '/token',
      jwks: '/jwks',
      registration: '/reg',
      revocation: '/token/revocation',
      introspection: '/token/introspection',
      userinfo: '/me',
      end_session: '/session/end',
      device_authorization: '/device/auth',
      code_verification: '/device',
      pushed_authorization_request: '/request',
    },
    features: {
      devInteractions: { enabled: false },
      registration: {
        enabled: true,
        initialAccessToken: deps.config.registration.initialAccessToken ?? false,
        issueRegistrationAccessToken: true,
      },
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: true },
      resourceIndicators: { enabled: true, ...resourceIndicators(config.resources) },
      revocation: { enabled: true, allowedPolicy: revocationAllowed },
      // Own tokens for confidential clients; every token only for the resource server's client.
      introspection: { enabled: true, allowedPolicy: introspectionAllowed },
      clientCredentials: { enabled: true },
      userinfo: { enabled: true },
      dPoP: { enabled: true },
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        async userCodeInputSource(ctx, form, _out, err) {
          pages.send(ctx, 'device-input', { form, error: deviceError(err) }, err ? 400 : 200);
        },
        async userCodeConfirmSource(ctx, form, _client, deviceInfo, userCode) {
          // Scopes, resources and origin of the request: this page is all a phished user sees.
          const request = describeDeviceRequest(ctx.oidc.entities.DeviceCode?.params, deviceInfo, config.resources);
          pages.send(ctx, 'device-confirm', { form, client: display(ctx), userCode, ...request });
        },
        async successSource(ctx) {
          pages.send(ctx, 'device-success', { client: display(ctx) });
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          pages.send(ctx, 'logout', { form });
        },
        async postLogoutSuccessSource(ctx) {
          pages.send(ctx, 'logout-success', { clientName: ctx.oidc.client ? display(ctx).name : undefined });
        },
      },
      clientIdMetadataDocument: {
        enabled: config.cimd.enabled,
        ack: 'draft-02',
        async allowFetch(_ctx: unknown, url: string) {
          outgoing.metadataDocumentAllowed(url);
          return true;
        },
        async allowClient() {
          return true;
        },
      },
    } as Configuration['features'],
    // Bodies capped at 64 KiB; oidc-provider's SSRF guard on for every client-supplied URL, relaxed
    // in development for metadata documents only (local clients under test).
    fetch: outgoing.fetch,
    fetchResponseBodyLimits: {
      'client_id metadata document': 5 * 1024,
      jwks_uri: OUTGOING_BODY_LIMIT,
      sector_identifier_uri: OUTGOING_BODY_LIMIT,
    },
    // Refresh tokens for every user-facing code/device client, without the offline_access +
    // prompt=consent ritual that MCP clients never perform.
    async issueRefreshToken(_ctx, client, code) {
      return client.grantTypeAllowed('refresh_token') && REFRESHABLE.has(code.kind);
    },
    // Refresh tokens outlive the browser session; the grant TTL bounds the chain.
    expiresWithSession: async () => false,
    rotateRefreshToken: (ctx) => {
      const { RefreshToken: token, Client: client } = ctx.oidc.entities;
      if (!token || !client) return true;
      // Public clients rotate on every use (OAuth 2.1); confidential ones when 70% of the TTL is gone.
      return client.clientAuthMethod === 'none' || token.ttlPercentagePassed() >= 70;
    },
    // Token claims. A client_credentials token has no user: its `sub` is the client id (RFC 9068
    // §2.2, set by oidc-provider) and it carries only the client's operator-given roles, never a
    // user claim. A user's token has `sub` = the account id, and no client id ever has an account
    // id's shape (accounts/new-account.ts, looksLikeAccountId). So the resource server's rule holds:
    // a token is user-less exactly when `sub === client_id`.
    async extraTokenClaims(ctx, token) {
      if (token.kind === 'ClientCredentials') {
        const roles = (ctx.oidc.client?.metadata() as UnknownObject | undefined)?.roles;
        return { roles: Array.isArray(roles) ? roles : [] };
      }
      const { accountId, grantId } = token as { accountId?: string; grantId?: string };
      if (!accountId) return undefined;
      // grant_id: the revocation feed names revoked grants by it, so resource servers can refuse
      // this JWT when its grant is revoked (revocation/revocations.ts). Not secret: it grants nothing.
      const grant = grantId ? { grant_id: grantId } : {};
      // The request loaded the account already (findAccountFor, with its roles): no second read.
      const loaded = ctx.oidc.account as { accountId?: string; roles?: unknown } | undefined;
      if (loaded?.accountId === accountId && Array.isArray(loaded.roles)) return { roles: loaded.roles, ...grant };
      const account = await deps.accounts.findById(accountId);
      return { roles: account?.roles ?? [], ...grant };
    },
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 600,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 600,
      AuthorizationCode: config.ttl.authorizationCode,
      DeviceCode: config.ttl.deviceCode,
      IdToken: ID_TOKEN_TTL,
      Interaction: config.ttl.interaction,
      Session: config.ttl.session,
      Grant: config.ttl.grant,
      RefreshToken: (ctx, token, client) => {
        const rotated = ctx?.oidc?.entities.RotatedRefreshToken;
        // A rotated token inherits what is left of its predecessor, so rotation never extends the chain.
        if (rotated && client.clientAuthMethod === 'none') return rotated.remainingTTL;
        return config.ttl.grant;
      },
    },
    async renderError(ctx, out, error) {
      const status = (error as { statusCode?: number }).statusCode ?? 400;
      const server = status >= 500;
      pages.sendError(ctx, status, {
        heading: server ? 'Something went wrong on our side' : 'This request could not be completed',
        message: server
          ? 'The server hit an unexpected problem. Try again; if it keeps happening, tell the operator.'
          : 'The application sent a request this server cannot accept. Go back to the application and try again.',
        code: String(out.error ?? 'invalid_request'),
        description: server ? undefined : (out.error_description as string | undefined),
      });
    },
    // Token and registration endpoints answer browsers whose origin matches a redirect URI.
    clientBasedCORS(_ctx, origin, client) {
      return (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin);
    },
    enabledJWA: {
      authorizationSigningAlgValues: ['ES256', 'RS256', 'PS256', 'EdDSA'],
      idTokenSigningAlgValues: ['RS256', 'ES256', 'PS256', 'EdDSA'],
      dPoPSigningAlgValues: ['ES256', 'EdDSA', 'PS256', 'RS256'],
    },
  } as Configuration;
}

/**
 * Behind TLS, cookie-name prefixes make browsers enforce what we mean: `__Host-` (Secure, Path=/,
 * no Domain) for the session cookie when the issuer is at the root, `__Secure-` for the
 * path-scoped interaction cookies, which cannot be `__Host-`.
 */
function cookieNames(secure: boolean, prefix: string) {
  if (!secure) return { session: '_session', interaction: '_interaction', resume: '_interaction_resume' };
  return {
    session: prefix ? '__Secure-session' : '__Host-session',
    interaction: '__Secure-interaction',
    resume: '__Secure-interaction_resume',
  };
}

function deviceError(err: unknown): string | undefined {
  if (!err) return undefined;
  const name = (err as { name?: string; userCode?: string }).name;
  if ((err as { userCode?: string }).userCode || name === 'NoCodeError') return 'That code is not valid. Check it and try again.';
  if (name === 'AbortedError') return 'The sign-in was cancelled.';
  return 'The code could not be checked. Try again.';
}
