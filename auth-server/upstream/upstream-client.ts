import { createRequire } from 'node:module';
import type * as oauth from 'openid-client';
import type { UpstreamProvider } from './upstream-config.ts';
import type { UpstreamTokens } from './token-vault.ts';

/** Who the upstream says the user is, in one shape for OIDC and plain OAuth 2 upstreams. */
export interface UpstreamIdentity {
  /** The upstream's stable id for the user (`sub`, or the configured id field). */
  subject: string;
  email: string | null;
  /** Only an OIDC upstream's `email_verified: true` counts; plain OAuth 2 is never verified. */
  emailVerified: boolean;
  name: string | null;
  username: string | null;
  /** Every claim (ID token, then userinfo over it) for the role mapping. */
  claims: Record<string, unknown>;
}

/** What the start of a sign-in must keep until the callback (server-side, single use). */
export interface UpstreamChecks {
  state: string;
  nonce: string | undefined;
  codeVerifier: string;
}

/** The upstream could not be reached or answered something we cannot use: its message is for the log. */
export class UpstreamUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UpstreamUnavailableError';
  }
}

let loaded: typeof oauth | undefined;

/**
 * openid-client (and oauth4webapi under it), loaded when the first upstream client is made: ~1 MB
 * of idle RSS (bench/FINDINGS.md) in a server without upstreams. `require` of an ES module is
 * synchronous (Node ≥ 22.12), so no upstream call waits on an import.
 */
function openidClient(): typeof oauth {
  loaded ??= createRequire(import.meta.url)('openid-client') as typeof oauth;
  return loaded;
}

/**
 * Whether `error` is openid-client's ResponseBodyError (the upstream answered with an OAuth error,
 * such as `invalid_grant` to a refresh). Without an upstream client openid-client was never
 * loaded, and nothing could have thrown one.
 */
export function isResponseBodyError(error: unknown): error is oauth.ResponseBodyError {
  return loaded !== undefined && error instanceof loaded.ResponseBodyError;
}

/** Seconds an upstream request may take; a hung upstream must not hold the login page. */
const TIMEOUT_SECONDS = 10;

/**
 * The upstream leg of a federated sign-in, all through openid-client: discovery (OIDC), PKCE
 * S256, `state`, `nonce`, the RFC 9207 `iss` check when the upstream sends one, the code
 * exchange and ID token validation (signature against the upstream's JWKS, iss, aud, nonce, exp).
 * Discovery happens on first use and is retried after a failure, so an upstream that is down at
 * start costs only its own button.
 *
 * ```ts source="./upstream-client.examples.ts#upstreamClient"
 * const upstream = upstreamClient(provider, 'https://auth.example/upstream/google/callback');
 * const { url, checks } = await upstream.start();
 * ```
 */
export function upstreamClient(provider: UpstreamProvider, callbackUrl: string) {
  const openid = openidClient();
  let configuration: Promise<oauth.Configuration> | undefined;

  function auth(): oauth.ClientAuth {
    return provider.tokenAuthMethod === 'client_secret_post'
      ? openid.ClientSecretPost(provider.clientSecret)
      : openid.ClientSecretBasic(provider.clientSecret);
  }

  async function load(): Promise<oauth.Configuration> {
    // Operator-configured URLs are trusted: plain http is allowed for them (loopback development).
    const insecure = (url: string) => url.startsWith('http://');
    if (provider.type === 'oidc') {
      return openid.discovery(new URL(provider.issuer), provider.clientId, undefined, auth(), {
        execute: insecure(provider.issuer) ? [openid.allowInsecureRequests] : [],
        timeout: TIMEOUT_SECONDS,
      });
    }
    const config = new openid.Configuration(
      {
        issuer: provider.issuer,
        authorization_endpoint: provider.authorizationUrl,
        token_endpoint: provider.tokenUrl,
        userinfo_endpoint: provider.userinfoUrl,
      },
      provider.clientId,
      undefined,
      auth(),
    );
    config.timeout = TIMEOUT_SECONDS;
    if ([provider.authorizationUrl, provider.tokenUrl, provider.userinfoUrl].some(insecure)) openid.allowInsecureRequests(config);
    return config;
  }

  async function configurationOf(): Promise<oauth.Configuration> {
    configuration ??= load();
    try {
      return await configuration;
    } catch (error) {
      configuration = undefined;
      throw new UpstreamUnavailableError(`discovery at ${provider.type === 'oidc' ? provider.issuer : provider.authorizationUrl} failed`, {
        cause: error,
      });
    }
  }

  return {
    /** The upstream authorization URL to send the browser to, and the checks to keep for the callback. */
    async start(): Promise<{ url: URL; checks: UpstreamChecks }> {
      const config = await configurationOf();
      const codeVerifier = openid.randomPKCECodeVerifier();
      const checks: UpstreamChecks = {
        state: openid.randomState(),
        nonce: provider.type === 'oidc' ? openid.randomNonce() : undefined,
        codeVerifier,
      };
      const params: Record<string, string> = {
        redirect_uri: callbackUrl,
        response_type: 'code',
        code_challenge: await openid.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state: checks.state,
      };
      if (provider.scopes.length) params.scope = provider.scopes.join(' ');
      if (checks.nonce) params.nonce = checks.nonce;
      return { url: openid.buildAuthorizationUrl(config, params), checks };
    },

    /**
     * Redeems the code the callback got and returns who the user is, with the upstream's tokens
     * (for the token vault; dropped unless the provider has storeTokens). Throws openid-client's
     * errors for a response that fails a check (state, iss, ID token) and UpstreamUnavailableError
     * when the upstream cannot be reached.
     */
    async finish(currentUrl: URL, checks: UpstreamChecks): Promise<{ identity: UpstreamIdentity; tokens: UpstreamTokens }> {
      const config = await configurationOf();
      let tokens;
      try {
        tokens = await openid.authorizationCodeGrant(config, currentUrl, {
          pkceCodeVerifier: checks.codeVerifier,
          expectedState: checks.state,
          expectedNonce: checks.nonce,
          idTokenExpected: provider.type === 'oidc',
        });
      } catch (error) {
        throw unreachable(error) ? new UpstreamUnavailableError('token request failed', { cause: error }) : error;
      }
      if (provider.type === 'oidc') {
        const idToken = tokens.claims()!;
        let info: Record<string, unknown> = {};
        if (config.serverMetadata().userinfo_endpoint) {
          // Most upstreams put profile and email claims at userinfo only; its `sub` must be the ID token's.
          info = (await openid.fetchUserInfo(config, tokens.access_token, idToken.sub)) as Record<string, unknown>;
        }
        const claims: Record<string, unknown> = { ...idToken, ...info, sub: idToken.sub };
        return {
          identity: {
            subject: idToken.sub,
            email: text(claims.email),
            emailVerified: claims.email_verified === true,
            name: text(claims.name),
            username: text(claims.preferred_username),
            claims,
          },
          tokens: vaultable(tokens),
        };
      }
      const response = await openid.fetchProtectedResource(config, tokens.access_token, new URL(provider.userinfoUrl), 'GET');
      if (!response.ok) throw new UpstreamUnavailableError(`userinfo answered ${response.status}`);
      const claims = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
      const id = claims?.[provider.fields.id];
      if (!claims || (typeof id !== 'string' && typeof id !== 'number') || String(id) === '') {
        throw new UpstreamUnavailableError(`userinfo has no ${provider.fields.id}`);
      }
      return {
        identity: {
          subject: String(id),
          email: text(claims[provider.fields.email]),
          emailVerified: false,
          name: text(claims[provider.fields.name]),
          username: text(claims[provider.fields.username]),
          claims,
        },
        tokens: vaultable(tokens),
      };
    },

    /**
     * A refresh at the upstream (token vault). Returns the new tokens; an upstream that rotates
     * refresh tokens sends a new one, else the old one stays valid and is kept. Throws
     * UpstreamUnavailableError when the upstream cannot be reached, openid-client's
     * ResponseBodyError when it refuses (`invalid_grant`: revoked or expired).
     */
    async refresh(refreshToken: string): Promise<UpstreamTokens> {
      const config = await configurationOf();
      let tokens;
      try {
        tokens = await openid.refreshTokenGrant(config, refreshToken);
      } catch (error) {
        throw unreachable(error) ? new UpstreamUnavailableError('refresh request failed', { cause: error }) : error;
      }
      const fresh = vaultable(tokens);
      return { ...fresh, refreshToken: fresh.refreshToken ?? refreshToken };
    },
  };
}

/** What the vault keeps of a token response. */
function vaultable(tokens: oauth.TokenEndpointResponse & oauth.TokenEndpointResponseHelpers): UpstreamTokens {
  const expiresIn = tokens.expiresIn();
  return {
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    expiresAt: expiresIn === undefined ? undefined : Math.floor(Date.now() / 1000) + expiresIn,
    scope: tokens.scope,
  };
}

export type UpstreamClient = ReturnType<typeof upstreamClient>;

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/** A network failure or timeout, as opposed to an answer that failed a check. */
function unreachable(error: unknown): boolean {
  return error instanceof TypeError || (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'));
}
