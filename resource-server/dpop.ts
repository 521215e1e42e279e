import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';
import { ExpiringCache } from './expiring-cache.ts';

/** Asymmetric JWS algorithms accepted for DPoP proofs (advertised in the metadata). */
export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'EdDSA', 'Ed25519'] as const;

/** Bytes the remembered jtis may take (UTF-16 keys plus a map entry each, roughly). */
const REPLAY_CACHE_MAX_BYTES = 32 * 1024 * 1024;

export class DpopProofError extends Error {
  override name = 'DpopProofError';
}

export interface DpopCheck {
  /** The DPoP header value: exactly one proof JWT. */
  proof: string | undefined;
  /** HTTP method of this request. */
  method: string;
  /** This request's public URL without query and fragment (RFC 9449 §4.3 check 9). */
  url: string;
  /** The access token the proof must be bound to (ath). */
  accessToken: string;
  /** The token's cnf.jkt: SHA-256 thumbprint of the key that must have signed the proof. */
  jkt: string;
}

export interface DpopVerifierOptions {
  /** Accepted distance between the proof's iat and our clock, in seconds. */
  iatWindowSec: number;
  /** Bound on remembered jtis; oldest are forgotten first (they are also closest to expiring). */
  replayCacheSize?: number;
}

/**
 * Returns a checker for DPoP proofs (RFC 9449 §4.3 and §7.1): typ dpop+jwt, an asymmetric alg,
 * an embedded public jwk that signed the proof, htm/htu of this request, iat within the window,
 * ath = hash of the access token, the key's thumbprint = the token's cnf.jkt, and a jti never seen
 * before within the window. Throws DpopProofError with a short reason.
 *
 * ```ts source="./dpop.examples.ts#createDpopVerifier"
 * const checkDpop = createDpopVerifier({ iatWindowSec: 60 });
 * await checkDpop({ proof: req.headers.dpop as string | undefined, method: 'POST', url: 'https://rs/mcp', accessToken, jkt });
 * ```
 */
export function createDpopVerifier(options: DpopVerifierOptions): (check: DpopCheck) => Promise<void> {
  // Bounded by count and by bytes: a jti is up to 256 characters of the client's choosing, so
  // 100,000 of the longest would take ~70 MB; typical ones (a UUID) stay under the count bound.
  const seen = new ExpiringCache<true>(options.replayCacheSize ?? 100_000, {
    maxBytes: REPLAY_CACHE_MAX_BYTES,
    sizeOf: (_value, key) => 2 * key.length + 100,
  });
  const windowSec = options.iatWindowSec;

  return async (check) => {
    const { proof } = check;
    if (!proof || proof.includes(',')) throw new DpopProofError('exactly one DPoP proof is required');
    let header;
    try {
      header = decodeProtectedHeader(proof);
    } catch {
      throw new DpopProofError('malformed DPoP proof');
    }
    if (header.typ !== 'dpop+jwt') throw new DpopProofError('DPoP proof typ must be dpop+jwt');
    if (!header.alg || !(DPOP_ALGORITHMS as readonly string[]).includes(header.alg))
      throw new DpopProofError('DPoP proof alg not accepted');
    const jwk = header.jwk as JWK | undefined;
    if (!jwk || typeof jwk !== 'object' || 'd' in jwk || 'k' in jwk) throw new DpopProofError('DPoP proof must carry a public jwk');

    let payload;
    try {
      const key = await importJWK(jwk, header.alg);
      ({ payload } = await jwtVerify(proof, key, { typ: 'dpop+jwt', algorithms: [...DPOP_ALGORITHMS] }));
    } catch {
      throw new DpopProofError('DPoP proof signature invalid');
    }
    if (payload.htm !== check.method) throw new DpopProofError('DPoP proof htm mismatch');
    if (typeof payload.htu !== 'string' || withoutQuery(payload.htu) !== withoutQuery(check.url)) {
      throw new DpopProofError('DPoP proof htu mismatch');
    }
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.iat !== 'number' || Math.abs(now - payload.iat) > windowSec)
      throw new DpopProofError('DPoP proof iat out of window');
    if (payload.ath !== sha256Base64url(check.accessToken)) throw new DpopProofError('DPoP proof ath mismatch');
    if ((await calculateJwkThumbprint(jwk, 'sha256')) !== check.jkt) throw new DpopProofError('DPoP key does not match the token binding');
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256)
      throw new DpopProofError('DPoP proof jti missing');
    // Checked last so that a rejected proof never burns a jti; keyed by key thumbprint so two
    // clients cannot collide. Remembered until the proof could no longer pass the iat check.
    const replayKey = `${check.jkt}:${payload.jti}`;
    if (seen.has(replayKey)) throw new DpopProofError('DPoP proof replayed');
    seen.set(replayKey, true, (payload.iat + windowSec + 1) * 1000);
  };
}

/** base64url(SHA-256(value)): the `ath` of RFC 9449 §4.2. */
export function sha256Base64url(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

function withoutQuery(url: string): string {
  if (!URL.canParse(url)) return '';
  const parsed = new URL(url);
  parsed.search = '';
  parsed.hash = '';
  return parsed.href;
}
