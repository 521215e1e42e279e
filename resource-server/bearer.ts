import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { createDpopVerifier, DpopProofError } from './dpop.ts';
import { ExpiringCache } from './expiring-cache.ts';
import { createIssuerKeys, IssuerUnavailableError } from './issuer-keys.ts';
import type { Challenge } from './www-authenticate.ts';

export { IssuerUnavailableError } from './issuer-keys.ts';

/** Asymmetric algorithms only: a symmetric one would let anyone holding the public key sign. */
export const ACCESS_TOKEN_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
  'Ed25519',
];

/**
 * Bytes the verification cache may hold (an estimate: the UTF-16 header, which the token is cut
 * from, plus a fixed overhead per entry). 10,000 typical 1 KB tokens fit; 16 KB tokens (the header
 * limit) are capped at about 500.
 */
const TOKEN_CACHE_MAX_BYTES = 16 * 1024 * 1024;
/** AuthInfo, its claims, the URL of the audience and the map entry, roughly. */
const ENTRY_OVERHEAD_BYTES = 1024;
/**
 * How much of the Authorization header's end picks its cache entry (in a JWT: its signature).
 * A Map hashes a string key character by character, ~1.5 ns each: ~0.9 µs for a whole typical
 * header, as much as a SHA-256 of it; these 32 cost ~50 ns.
 */
const CACHE_HINT_LENGTH = 32;

/** A refused request: the status and the challenge to send (the caller adds resource_metadata). */
export class AuthError extends Error {
  override name = 'AuthError';
  readonly status: 401 | 403;
  readonly challenge: Omit<Challenge, 'resourceMetadata'>;

  constructor(status: 401 | 403, challenge: Omit<Challenge, 'resourceMetadata'>) {
    super(challenge.description ?? challenge.error ?? 'authentication required');
    this.status = status;
    this.challenge = challenge;
  }
}

export interface BearerVerifierOptions {
  /** The only accepted `iss` (AUTH_ISSUER). */
  issuer: string;
  /** Our resource URL: `aud` must contain it (RS_RESOURCE_URL), unless a request names another. */
  audience: string;
  /** Keys to verify with; defaults to the issuer's JWKS found through its metadata. */
  keys?: JWTVerifyGetKey;
  /** Where to fetch the JWKS instead of discovering it (AUTH_JWKS_URL). */
  jwksUrl?: string | undefined;
  fetchTimeoutMs?: number;
  jwksCooldownMs?: number;
  /** Verified tokens kept in memory (0 disables the cache). */
  cacheSize?: number;
  /** Clock skew allowed on exp/nbf and the DPoP proof iat, in seconds (≤ 30). */
  clockToleranceSec?: number;
  /** The clock, in ms since the epoch (tests move it instead of sleeping past an `exp`). */
  now?: () => number;
  /** Called on every JWKS fetch (metrics). */
  onJwksFetch?: () => void;
  /** Called when finding the issuer's keys fails (e.g. a jwks_uri on a foreign origin), for the log. */
  onKeyDiscoveryError?: (error: Error) => void;
  /**
   * Opaque personal access tokens (personal-access-tokens.ts): a Bearer token starting with
   * `prefix` goes to `verify` instead of the JWT checks. Undefined: such tokens are refused.
   */
  personalAccessTokens?: { prefix: string; verify: (token: string, audience: string) => Promise<AuthInfo> } | undefined;
}

/** What the verifier needs from an HTTP request. */
export interface CredentialsRequest {
  /** The Authorization header: the only place a token is accepted. */
  authorization: string | undefined;
  /** The DPoP header (a proof JWT), for sender-constrained tokens. */
  dpop: string | undefined;
  method: string;
  /** The request's public URL (no query), for the DPoP proof's htu. Read only for DPoP requests (a getter can build it lazily). */
  url: string;
  /**
   * The resource this request is for, when the server has more than one (/mcp and /sse, loopback
   * aliases): `aud` must contain it. Defaults to the verifier's `audience`.
   */
  audience?: string | undefined;
}

/**
 * A request's caller, or a rejection: a promise unless the answer came from the cache without
 * any further check (a plain Bearer token), which is returned as it is. Never throws: refusals
 * are rejected promises.
 */
export type BearerVerifier = (request: CredentialsRequest) => AuthInfo | Promise<AuthInfo>;

/** RFC 9068 access token claims we read. */
interface AccessTokenClaims extends JWTPayload {
  client_id?: unknown;
  scope?: unknown;
  roles?: unknown;
  grant_id?: unknown;
  cnf?: { jkt?: unknown };
}

/**
 * Creates the function that turns a request's credentials into the SDK's AuthInfo, or rejects
 * with AuthError (a refused token: 401/403), or IssuerUnavailableError when the issuer's keys
 * cannot be fetched (answer 503: the token may be good), and never anything else. RFC 9068 checks:
 * signature by the issuer's keys (asymmetric only), typ at+jwt, iss, aud containing our resource
 * URL, exp/nbf with bounded skew, and the required claims. A token bound to a key (cnf.jkt)
 * additionally needs the DPoP scheme and a valid proof for this very request (RFC 9449).
 *
 * Successful verifications are cached by the Authorization header (and the audience) until
 * `exp`, so a client's repeated requests cost a map lookup, no signature check, and a plain
 * Bearer token's answer comes back without a promise; DPoP proofs are still checked on every
 * request.
 *
 * ```ts source="./bearer.examples.ts#createBearerVerifier"
 * const verify = createBearerVerifier({ issuer: 'http://localhost:3000', audience: 'http://localhost:3001/mcp' });
 * const authInfo = await verify({
 *   authorization: req.headers.authorization,
 *   dpop: undefined,
 *   method: 'POST',
 *   url: 'http://localhost:3001/mcp',
 * });
 * authInfo.extra?.sub; // the caller
 * ```
 */
export function createBearerVerifier(options: BearerVerifierOptions): BearerVerifier {
  const clockTolerance = Math.min(options.clockToleranceSec ?? 30, 30);
  const now = options.now ?? Date.now;
  const keys =
    options.keys ??
    createIssuerKeys({
      issuer: options.issuer,
      jwksUrl: options.jwksUrl,
      timeoutMs: options.fetchTimeoutMs ?? 500,
      cooldownMs: options.jwksCooldownMs ?? 5_000,
      onJwksFetch: options.onJwksFetch,
      onDiscoveryError: options.onKeyDiscoveryError,
    });
  const cache = new ExpiringCache<Verified>(options.cacheSize ?? 10_000, {
    // The header; the token is sliced from it and AuthInfo holds the same string.
    maxBytes: TOKEN_CACHE_MAX_BYTES,
    sizeOf: (entry) => 2 * entry.authorization.length + ENTRY_OVERHEAD_BYTES,
  });
  const checkDpop = createDpopVerifier({ iatWindowSec: Math.max(clockTolerance, 60) });

  async function verifyToken(token: string, audience: string): Promise<AuthInfo> {
    try {
      const { payload } = await jwtVerify<AccessTokenClaims>(token, keys, {
        issuer: options.issuer,
        audience,
        typ: 'at+jwt',
        algorithms: ACCESS_TOKEN_ALGORITHMS,
        clockTolerance,
        currentDate: new Date(now()),
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'],
      });
      return toAuthInfo(token, payload, audience);
    } catch (error) {
      // Keys we could not fetch say nothing about the token: not a 401, which makes clients drop it.
      if (error instanceof IssuerUnavailableError) throw error;
      if (error instanceof errors.JWKSTimeout)
        throw new IssuerUnavailableError('signing keys unavailable: the JWKS fetch timed out', { cause: error });
      throw new AuthError(401, { scheme: 'Bearer', error: 'invalid_token', description: describe(error) });
    }
  }

  /** The header's scheme and token after the syntax check, the token verified now (a cache miss). */
  async function verifyHeader(authorization: string, audience: string, cacheKey: string): Promise<Verified> {
    const match = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization);
    if (!match)
      throw new AuthError(401, { scheme: 'Bearer', error: 'invalid_token', description: 'expected Authorization: Bearer <token>' });
    const scheme = match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
    const token = match[2]!;
    const pats = options.personalAccessTokens;
    if (pats && token.startsWith(pats.prefix)) {
      // A PAT is a plain bearer token: there is no key for a DPoP proof to bind it to.
      if (scheme === 'DPoP') throw new AuthError(401, { scheme: 'DPoP', error: 'invalid_token', description: 'token is not DPoP-bound' });
      // Not cached here: pats.verify keeps its own introspection cache, bounded by the poll interval.
      return { authorization, scheme, token, authInfo: await pats.verify(token, audience) };
    }
    let authInfo: AuthInfo;
    try {
      authInfo = await verifyToken(token, audience);
    } catch (error) {
      if (error instanceof AuthError && scheme === 'DPoP') throw new AuthError(401, { ...error.challenge, scheme: 'DPoP' });
      throw error;
    }
    const entry: Verified = { authorization, scheme, token, authInfo };
    cache.set(cacheKey, entry, authInfo.expiresAt! * 1000);
    return entry;
  }

  /** The checks after the cache, on every request: the scheme against the token's binding, the DPoP proof. */
  async function bound(request: CredentialsRequest, pending: Verified | Promise<Verified>): Promise<AuthInfo> {
    const { scheme, token, authInfo } = await pending;
    const jkt = authInfo.extra?.jkt;
    if (scheme === 'Bearer') {
      // RFC 9449 §7.2: a sender-constrained token must not be usable as a plain bearer token.
      if (typeof jkt === 'string')
        throw new AuthError(401, { scheme: 'DPoP', error: 'invalid_token', description: 'DPoP-bound token requires the DPoP scheme' });
      return authInfo;
    }
    if (typeof jkt !== 'string')
      throw new AuthError(401, { scheme: 'DPoP', error: 'invalid_token', description: 'token is not DPoP-bound' });
    try {
      // Read only here: the URL is built (a URL parse) only for DPoP requests.
      await checkDpop({ proof: request.dpop, method: request.method, url: request.url, accessToken: token, jkt });
    } catch (error) {
      const description = error instanceof DpopProofError ? error.message : 'invalid DPoP proof';
      throw new AuthError(401, { scheme: 'DPoP', error: 'invalid_dpop_proof', description });
    }
    return authInfo;
  }

  return (request) => {
    const authorization = request.authorization;
    if (!authorization) return Promise.reject(new AuthError(401, { scheme: 'Bearer' }));
    const audience = request.audience ?? options.audience;
    // A warm request is one map lookup and one string comparison. The entry is found by the
    // audience (a token verified for /mcp says nothing about /sse) and the end of the header,
    // and used only when its header is exactly the one sent, so a hit implies the header passed
    // the syntax check when it was cached. Not a digest of the header: a SHA-256 per request was
    // about half of what auth cost on this path under load (~1 µs alone), and keying by the
    // whole header costs as much in V8's string hashing. Only verified headers are ever stored.
    const cacheKey = `${audience}\n${authorization.slice(-CACHE_HINT_LENGTH)}`;
    const hinted = cache.get(cacheKey, now());
    const cached = hinted?.authorization === authorization ? hinted : undefined;
    // A cached plain Bearer token passes every check after the cache (no binding, no proof):
    // answered without a promise, so the gate goes on in the same tick.
    if (cached?.scheme === 'Bearer' && typeof cached.authInfo.extra?.jkt !== 'string') return cached.authInfo;
    return bound(request, cached ?? verifyHeader(authorization, audience, cacheKey));
  };
}

/** A verified Authorization header, as the cache keeps it. */
interface Verified {
  authorization: string;
  scheme: 'Bearer' | 'DPoP';
  token: string;
  authInfo: AuthInfo;
}

function toAuthInfo(token: string, payload: AccessTokenClaims, audience: string): AuthInfo {
  const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
  const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
  const jkt = typeof payload.cnf?.jkt === 'string' ? payload.cnf.jkt : undefined;
  return {
    token,
    clientId: String(payload.client_id),
    scopes,
    expiresAt: payload.exp,
    resource: new URL(audience),
    extra: {
      sub: payload.sub,
      roles,
      iss: payload.iss,
      jti: payload.jti,
      // For the revocation feed (revocation-feed.ts): grants are named by grant_id, accounts and
      // clients refuse what was issued before they were disabled.
      iat: payload.iat,
      ...(typeof payload.grant_id === 'string' ? { grant_id: payload.grant_id } : {}),
      ...(jkt ? { jkt } : {}),
    },
  };
}

/** A short, fixed error_description: says what failed without echoing anything from the token. */
function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'token not yet valid';
    if (error.claim === 'typ') return 'token typ must be at+jwt';
    return `${error.claim} claim invalid`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'signing algorithm not accepted';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature invalid';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no matching signing key';
  return 'malformed token';
}
