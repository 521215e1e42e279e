import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose';

export interface IssuerKeysOptions {
  issuer: string;
  /** Skip discovery and fetch keys here (AUTH_JWKS_URL). */
  jwksUrl?: string | undefined;
  /** Bound on every fetch (metadata and JWKS). */
  timeoutMs: number;
  /** Minimum time between two JWKS refetches caused by an unknown `kid`. */
  cooldownMs: number;
  /** Called on every JWKS fetch (metrics). */
  onJwksFetch?: () => void;
  /** Called when discovery fails (at most once per cooldown), with the reason: for the log. */
  onDiscoveryError?: (error: Error) => void;
}

/**
 * Thrown when the issuer's keys cannot be obtained (metadata or JWKS unreachable, timed out, not
 * 200). The token may well be good: the caller answers 503 with Retry-After, never 401 (a 401
 * makes clients throw the token away) and never 500. `url` is what could not be fetched.
 */
export class IssuerUnavailableError extends Error {
  override name = 'IssuerUnavailableError';
  readonly url: string | undefined;

  constructor(message: string, options: { url?: string | undefined; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.url = options.url;
  }
}

/**
 * The issuer's metadata names a jwks_uri on another origin. Whoever can put a document in front
 * of the metadata URL (a poisoned cache, a hijacked CDN path) could otherwise point us at keys
 * of their own and sign tokens with any `iss`: only the issuer's own origin is trusted for keys,
 * and an operator who really keeps them elsewhere says so with AUTH_JWKS_URL.
 */
export class ForeignJwksUriError extends IssuerUnavailableError {
  override name = 'ForeignJwksUriError';
  readonly issuer: string;
  readonly jwksUri: string;

  constructor(issuer: string, jwksUri: string, metadataUrl: string) {
    super(
      `refusing jwks_uri ${jwksUri} from ${metadataUrl}: it is not on the issuer's origin ${new URL(issuer).origin}; ` +
        'every token is refused until the metadata is fixed, or AUTH_JWKS_URL names where the keys really are',
      { url: metadataUrl },
    );
    this.issuer = issuer;
    this.jwksUri = jwksUri;
  }
}

/**
 * The issuer's signing keys for jose's jwtVerify: found through the issuer's metadata on first
 * use (the auth server may start after us), fetched with a timeout, cached, and refetched on an
 * unknown `kid` at most once per cooldown (jose's remote JWKS does the last three). A JWKS that
 * cannot be fetched throws {@link IssuerUnavailableError} naming its URL (the token may be good);
 * a JWKS fetched without the token's `kid` throws jose's JWKSNoMatchingKey (the token is bad).
 *
 * ```ts source="./issuer-keys.examples.ts#createIssuerKeys"
 * const keys = createIssuerKeys({ issuer, timeoutMs: 500, cooldownMs: 5_000 });
 * await jwtVerify(token, keys, { issuer });
 * ```
 */
export function createIssuerKeys(options: IssuerKeysOptions): JWTVerifyGetKey {
  let jwks: Promise<JWTVerifyGetKey> | undefined;
  let failedAt = 0;
  let lastFailure: IssuerUnavailableError | undefined;
  const remote = (url: string) =>
    createRemoteJWKSet(new URL(url), {
      timeoutDuration: options.timeoutMs,
      cooldownDuration: options.cooldownMs,
      [customFetch]: async (input, init) => {
        options.onJwksFetch?.();
        // Unreachable, timed out or not 200: say which URL and why, as one error type the
        // verifier can tell from a bad token (jose's own errors here are generic).
        let response: Response;
        try {
          response = await fetch(input, init);
        } catch (error) {
          throw new IssuerUnavailableError('signing keys unavailable: the JWKS could not be fetched', { url, cause: error });
        }
        if (response.status !== 200) {
          throw new IssuerUnavailableError('signing keys unavailable: the JWKS could not be fetched', {
            url,
            cause: new Error(`${url} answered ${response.status}`),
          });
        }
        return response;
      },
    });

  const resolve = (): Promise<JWTVerifyGetKey> => {
    if (options.jwksUrl) return Promise.resolve(remote(options.jwksUrl));
    // A failed discovery is retried, but not more often than the cooldown, so a down auth
    // server costs each request one refused promise rather than one fetch.
    if (!jwks && lastFailure && Date.now() - failedAt < Math.max(options.cooldownMs, 1000)) {
      return Promise.reject(lastFailure);
    }
    jwks ??= discoverJwksUri(options.issuer, options.timeoutMs).then(remote, (error: unknown) => {
      jwks = undefined;
      failedAt = Date.now();
      const failure =
        error instanceof ForeignJwksUriError
          ? error
          : new IssuerUnavailableError('authorization server metadata unavailable', { url: metadataUrlOf(options.issuer), cause: error });
      lastFailure = failure;
      options.onDiscoveryError?.(failure);
      throw failure;
    });
    return jwks;
  };

  return async (header, token) => (await resolve())(header, token);
}

/**
 * RFC 8414 §3.1: the metadata of an issuer with a path lives at
 * /.well-known/oauth-authorization-server/<path>; OpenID providers also publish
 * <issuer>/.well-known/openid-configuration. The document must name the same issuer, and a
 * jwks_uri on the issuer's origin (else ForeignJwksUriError, without trying the other candidate:
 * a document naming foreign keys is a red flag, not a miss).
 */
export async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<string> {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, '');
  const candidates = [new URL(metadataUrlOf(issuer)), new URL(`${path}/.well-known/openid-configuration`, url.origin)];
  // One deadline for the whole discovery, so a black-holed auth server costs timeoutMs, not twice that.
  const signal = AbortSignal.timeout(timeoutMs);
  let lastError: unknown;
  for (const candidate of candidates) {
    try {
      const response = await fetch(candidate, { signal, headers: { accept: 'application/json' } });
      if (!response.ok) throw new Error(`${candidate.href} answered ${response.status}`);
      const metadata = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
      if (metadata.issuer !== issuer) throw new Error(`${candidate.href} names issuer ${String(metadata.issuer)}`);
      if (typeof metadata.jwks_uri !== 'string' || !URL.canParse(metadata.jwks_uri)) throw new Error(`${candidate.href} has no jwks_uri`);
      if (new URL(metadata.jwks_uri).origin !== url.origin) throw new ForeignJwksUriError(issuer, metadata.jwks_uri, candidate.href);
      return metadata.jwks_uri;
    } catch (error) {
      if (error instanceof ForeignJwksUriError) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

/** RFC 8414 §3.1: the issuer's metadata URL, the first place discovery looks. */
function metadataUrlOf(issuer: string): string {
  const url = new URL(issuer);
  return new URL(`/.well-known/oauth-authorization-server${url.pathname.replace(/\/$/, '')}`, url.origin).href;
}
