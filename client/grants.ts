import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import { listenForCallback } from './browser.ts';
import { retryOnDpopNonce } from './dpop.ts';
import { CliError, oauthOptions } from './http.ts';
import { terminalQr } from './qr.ts';
import { clientAuth, describeOAuthError } from './registration.ts';
import type { ClientRecord, TokenRecord } from './store.ts';

export interface GrantContext {
  as: oauth.AuthorizationServer;
  client: ClientRecord;
  resource: string;
  scope?: string;
  fetch: typeof fetch;
  /** Where prompts go (stderr): the URL to open, the device code. */
  say: (line: string) => void;
  /** With --dpop: proofs at the token endpoint, so the tokens are bound to this key (RFC 9449 §5). */
  dpop?: oauth.DPoPHandle;
  /** Device flow: also print a QR code of verification_uri_complete (qr.ts says when). */
  qr?: boolean;
}

type TokenResponse = oauth.TokenEndpointResponse;

const asClient = (client: ClientRecord): oauth.Client => ({ client_id: client.client_id });

/**
 * Authorization code + PKCE S256 + state + resource, the response checked by oauth4webapi
 * (state, and RFC 9207 `iss`: required when the AS advertises it, compared whenever present).
 * `open` shows the URL to the user (a browser, or in tests an HTTP client); it is always printed.
 */
export async function browserGrant(ctx: GrantContext, open: (url: string) => Promise<void> | void): Promise<TokenResponse> {
  if (!ctx.as.authorization_endpoint) throw new CliError(`${ctx.as.issuer} has no authorization endpoint`);
  const callback = await listenForCallback();
  try {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(ctx.as.authorization_endpoint);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', ctx.client.client_id);
    url.searchParams.set('redirect_uri', callback.redirectUri);
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
    url.searchParams.set('code_challenge_method', 'S256');
    url.searchParams.set('state', state);
    url.searchParams.set('resource', ctx.resource);
    if (ctx.scope) url.searchParams.set('scope', ctx.scope);
    ctx.say('Open this URL in a browser to sign in:');
    ctx.say('');
    ctx.say(url.href);
    ctx.say('');
    await open(url.href);
    const returned = await callback.result;
    let params: URLSearchParams;
    try {
      params = oauth.validateAuthResponse(ctx.as, asClient(ctx.client), returned, state);
    } catch (error) {
      throw new CliError(`sign-in failed: ${describeOAuthError(error)}`);
    }
    return await tokenResult(() =>
      retryOnDpopNonce(ctx.dpop, async () => {
        const response = await oauth.authorizationCodeGrantRequest(
          ctx.as,
          asClient(ctx.client),
          clientAuth(ctx.client),
          params,
          callback.redirectUri,
          verifier,
          { additionalParameters: { resource: ctx.resource }, DPoP: ctx.dpop, ...oauthOptions(ctx.fetch, ctx.as.token_endpoint) },
        );
        return oauth.processAuthorizationCodeResponse(ctx.as, asClient(ctx.client), response);
      }),
    );
  } finally {
    callback.close();
  }
}

/**
 * RFC 8628: prints verification_uri_complete on a line of its own (easy to copy), with `ctx.qr` a
 * QR code of it, and the user code, then polls at `interval`, adding 5 s on every slow_down (§3.5).
 */
export async function deviceGrant(
  ctx: GrantContext,
  sleep = (ms: number) => new Promise((done) => setTimeout(done, ms)),
): Promise<TokenResponse> {
  if (!ctx.as.device_authorization_endpoint) throw new CliError(`${ctx.as.issuer} does not offer the device flow; sign in with --browser`);
  const parameters: Record<string, string> = { resource: ctx.resource };
  if (ctx.scope) parameters.scope = ctx.scope;
  const started = await oauth.deviceAuthorizationRequest(
    ctx.as,
    asClient(ctx.client),
    clientAuth(ctx.client),
    parameters,
    oauthOptions(ctx.fetch, ctx.as.device_authorization_endpoint),
  );
  let device: oauth.DeviceAuthorizationResponse;
  try {
    device = await oauth.processDeviceAuthorizationResponse(ctx.as, asClient(ctx.client), started);
  } catch (error) {
    throw new CliError(`the device flow could not start: ${describeOAuthError(error)}`);
  }
  ctx.say('To sign in, open this URL on any device:');
  ctx.say('');
  ctx.say(device.verification_uri_complete ?? device.verification_uri);
  ctx.say('');
  // Only the complete URI (RFC 8628 §3.3.1): scanning it fills in the code, which is the point.
  if (ctx.qr && device.verification_uri_complete) {
    ctx.say('or scan it with a phone:');
    ctx.say(await terminalQr(device.verification_uri_complete));
  }
  ctx.say(`and check that it shows the code: ${device.user_code}`);
  if (!device.verification_uri_complete) ctx.say(`(enter the code at ${device.verification_uri})`);
  ctx.say('Waiting for approval…');

  let interval = (device.interval ?? 5) * 1000;
  const deadline = Date.now() + device.expires_in * 1000;
  while (Date.now() < deadline) {
    await sleep(interval);
    try {
      return await retryOnDpopNonce(ctx.dpop, async () => {
        const response = await oauth.deviceCodeGrantRequest(ctx.as, asClient(ctx.client), clientAuth(ctx.client), device.device_code, {
          additionalParameters: { resource: ctx.resource },
          DPoP: ctx.dpop,
          ...oauthOptions(ctx.fetch, ctx.as.token_endpoint),
        });
        return oauth.processDeviceCodeResponse(ctx.as, asClient(ctx.client), response);
      });
    } catch (error) {
      if (error instanceof oauth.ResponseBodyError && error.error === 'authorization_pending') continue;
      if (error instanceof oauth.ResponseBodyError && error.error === 'slow_down') {
        interval += 5000;
        continue;
      }
      throw new CliError(`sign-in failed: ${describeOAuthError(error)}`);
    }
  }
  throw new CliError('the device code expired before it was approved; run login again');
}

/** Machine use: the client credentials grant (no user), with the resource and scope. */
export async function clientCredentialsGrant(ctx: GrantContext): Promise<TokenResponse> {
  const parameters: Record<string, string> = { resource: ctx.resource };
  if (ctx.scope) parameters.scope = ctx.scope;
  return tokenResult(() =>
    retryOnDpopNonce(ctx.dpop, async () => {
      const response = await oauth.clientCredentialsGrantRequest(ctx.as, asClient(ctx.client), clientAuth(ctx.client), parameters, {
        DPoP: ctx.dpop,
        ...oauthOptions(ctx.fetch, ctx.as.token_endpoint),
      });
      return oauth.processClientCredentialsResponse(ctx.as, asClient(ctx.client), response);
    }),
  );
}

/** Enterprise-Managed Authorization: where the enterprise IdP is and what it knows of the user. */
export interface IdJagSource {
  /** The IdP's token endpoint (RFC 8693 token exchange). */
  tokenEndpoint: string;
  /** The user's ID token from the IdP, the subject of the exchange. */
  idToken: string;
  /** This client's ID at the IdP. */
  idpClientId?: string;
  /**
   * Its secret there (client_secret_basic), for an IdP that lets only confidential clients
   * exchange tokens (ours does); without it the client is sent as a public one (client_id alone).
   * Never the MCP client's secret: that one is for the MCP server's authorization server only.
   */
  idpClientSecret?: string;
}

const ID_JAG = 'urn:ietf:params:oauth:token-type:id-jag';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/**
 * Enterprise-Managed Authorization (SEP-990): the ID token is exchanged at the enterprise IdP for
 * an ID-JAG (RFC 8693) addressed to the MCP server's AS (`audience` = its issuer) for the resource,
 * which the AS then takes as an RFC 7523 jwt-bearer assertion, with this client's own credentials.
 * No user interaction: the IdP's policy decides. The ID-JAG is opaque to us (signed for the AS).
 */
export async function idJagGrant(ctx: GrantContext, idp: IdJagSource): Promise<TokenResponse> {
  const parameters: Record<string, string> = {
    requested_token_type: ID_JAG,
    subject_token: idp.idToken,
    subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
    audience: ctx.as.issuer,
    resource: ctx.resource,
  };
  if (ctx.scope) parameters.scope = ctx.scope;
  // oauth4webapi wants an AS for the request; the IdP is one for this purpose (its token endpoint).
  const idpServer: oauth.AuthorizationServer = { issuer: new URL(idp.tokenEndpoint).origin, token_endpoint: idp.tokenEndpoint };
  const idpClient: oauth.Client = { client_id: idp.idpClientId ?? ctx.client.client_id };
  let assertion: string;
  try {
    const idpAuth = idp.idpClientSecret === undefined ? oauth.None() : oauth.ClientSecretBasic(idp.idpClientSecret);
    const response = await oauth.genericTokenEndpointRequest(idpServer, idpClient, idpAuth, TOKEN_EXCHANGE, parameters, {
      ...oauthOptions(ctx.fetch, idp.tokenEndpoint),
    });
    // RFC 8693 §2.2.1: token_type is N_A when the issued token is not an access token.
    const exchanged = await oauth.processGenericTokenEndpointResponse(idpServer, idpClient, response, {
      recognizedTokenTypes: { n_a: () => undefined },
    });
    if (exchanged.issued_token_type !== ID_JAG)
      throw new CliError(`the IdP issued a ${String(exchanged.issued_token_type ?? 'token of no stated type')}, not an ID-JAG`);
    assertion = exchanged.access_token;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`the token exchange at the IdP failed: ${describeOAuthError(error)}`);
  }
  const grant: Record<string, string> = { assertion, resource: ctx.resource };
  if (ctx.scope) grant.scope = ctx.scope;
  return tokenResult(() =>
    retryOnDpopNonce(ctx.dpop, async () => {
      const response = await oauth.genericTokenEndpointRequest(ctx.as, asClient(ctx.client), clientAuth(ctx.client), JWT_BEARER, grant, {
        DPoP: ctx.dpop,
        ...oauthOptions(ctx.fetch, ctx.as.token_endpoint),
      });
      return oauth.processGenericTokenEndpointResponse(ctx.as, asClient(ctx.client), response);
    }),
  );
}

/** Refresh (rotating): undefined when the AS refuses the refresh token (invalid_grant). */
export async function refreshGrant(ctx: GrantContext, refreshToken: string): Promise<TokenResponse | undefined> {
  try {
    return await retryOnDpopNonce(ctx.dpop, async () => {
      const response = await oauth.refreshTokenGrantRequest(ctx.as, asClient(ctx.client), clientAuth(ctx.client), refreshToken, {
        additionalParameters: { resource: ctx.resource },
        DPoP: ctx.dpop,
        ...oauthOptions(ctx.fetch, ctx.as.token_endpoint),
      });
      return oauth.processRefreshTokenResponse(ctx.as, asClient(ctx.client), response);
    });
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError && (error.error === 'invalid_grant' || error.error === 'invalid_client')) return undefined;
    throw new CliError(`refreshing the sign-in failed: ${describeOAuthError(error)}`);
  }
}

async function tokenResult(process: () => Promise<TokenResponse>): Promise<TokenResponse> {
  try {
    return await process();
  } catch (error) {
    throw new CliError(`the token request failed: ${describeOAuthError(error)}`);
  }
}

/** What we keep of a token response. */
export function tokenRecord(
  response: TokenResponse,
  base: Pick<TokenRecord, 'mcpUrl' | 'resource' | 'issuer' | 'client_id' | 'grant'> & {
    scope?: string;
    refresh_token?: string;
    dpop_jwk?: JsonWebKey;
  },
  now = Date.now(),
): TokenRecord {
  let user: string | undefined;
  try {
    user = decodeJwt(response.access_token).sub;
  } catch {
    user = undefined; // opaque token: no user to show
  }
  return {
    ...base,
    access_token: response.access_token,
    token_type: response.token_type,
    // Kept only when the AS did bind the token: a Bearer token sent with the DPoP scheme is refused.
    dpop_jwk: response.token_type.toLowerCase() === 'dpop' ? base.dpop_jwk : undefined,
    refresh_token: response.refresh_token ?? base.refresh_token,
    scope: response.scope ?? base.scope,
    expires_at: typeof response.expires_in === 'number' ? Math.floor(now / 1000) + response.expires_in : undefined,
    user,
  };
}
