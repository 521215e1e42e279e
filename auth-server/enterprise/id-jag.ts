import { decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { canonicalResource } from '../provider/resources.ts';
import { IdpUnavailableError, type idpKeys } from './idp-keys.ts';
import type { TrustedIdp } from './trusted-idps.ts';

/** The JWT `typ` of an Identity Assertion JWT Authorization Grant (SEP-990 §4.3, RFC 8725 §3.11). */
export const ID_JAG_TYP = 'oauth-id-jag+jwt';
/** Seconds of clock difference tolerated with the IdP (oidc-provider's default too). */
export const CLOCK_TOLERANCE = 15;

/** Why an ID-JAG is refused: `reason` is a short code for the audit log, `message` the client's error_description. */
export class IdJagRefused extends Error {
  readonly reason: string;
  readonly issuer: string | undefined;
  constructor(reason: string, message: string, issuer?: string) {
    super(message);
    this.name = 'IdJagRefused';
    this.reason = reason;
    this.issuer = issuer;
  }
}

/** What a verified ID-JAG grants. */
export interface VerifiedIdJag {
  idp: TrustedIdp;
  subject: string;
  jti: string;
  /** Seconds since the epoch. */
  expiresAt: number;
  /** The canonical URL of one of our resources. */
  resource: string;
  /** Its `scope`, split; undefined when it names none. */
  scopes: string[] | undefined;
  claims: JWTPayload;
}

export interface IdJagContext {
  idps: readonly TrustedIdp[];
  keys: ReturnType<typeof idpKeys>;
  /** Our issuer: the `aud` the grant must name. */
  issuer: string;
  /** The client that authenticated this token request. */
  clientId: string;
  /** Every resource we protect. */
  resources: readonly string[];
  now: () => Date;
}

/**
 * Checks an ID-JAG as the Enterprise-Managed Authorization extension (§5.1) and RFC 7521 §5.2 /
 * RFC 7523 §3 require: a trusted `iss`; header `typ` `oauth-id-jag+jwt`; the signature against
 * that IdP's keys with an algorithm allowed for it; `aud` our issuer; `client_id` the
 * authenticated client (and one the IdP may issue to); `resource` one we protect and the IdP
 * may grant; `sub`, `jti`, `exp`, `iat` present, not expired, not issued in the future, and a
 * lifetime within the IdP's limit. Single use of `jti` is the caller's (it needs the store).
 * Throws IdJagRefused; IdpUnavailableError when the IdP's keys cannot be fetched.
 *
 * ```ts source="./id-jag.examples.ts#verifyIdJag"
 * const grant = await verifyIdJag(assertion, { idps, keys, issuer, clientId, resources, now: () => new Date() });
 * ```
 */
export async function verifyIdJag(assertion: string, context: IdJagContext): Promise<VerifiedIdJag> {
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(assertion);
  } catch {
    throw new IdJagRefused('malformed', 'the assertion is not a JWT');
  }
  const idp = context.idps.find((candidate) => candidate.issuer === unverified.iss);
  if (!idp) {
    const issuer = typeof unverified.iss === 'string' ? unverified.iss.slice(0, 200) : undefined;
    throw new IdJagRefused('untrusted_issuer', 'the assertion is not from a trusted identity provider', issuer);
  }
  const refuse = (reason: string, message: string) => new IdJagRefused(reason, message, idp.issuer);

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(assertion, await context.keys.resolverFor(idp), {
      issuer: idp.issuer,
      // An issuer at the root is the same URL with or without its trailing slash.
      audience: [context.issuer, ...(new URL(context.issuer).pathname === '/' ? [`${context.issuer.replace(/\/$/, '')}/`] : [])],
      typ: ID_JAG_TYP,
      algorithms: idp.algorithms,
      requiredClaims: ['sub', 'jti', 'exp', 'iat', 'client_id', 'resource'],
      clockTolerance: CLOCK_TOLERANCE,
      // With maxTokenAge, jose also refuses an `iat` in the future.
      maxTokenAge: idp.maxGrantLifetime,
      currentDate: context.now(),
    }));
  } catch (error) {
    if (error instanceof IdpUnavailableError) throw error;
    throw refuse(...joseReason(error));
  }

  if (payload.exp! - payload.iat! > idp.maxGrantLifetime) {
    throw refuse('lifetime_too_long', `the assertion lives longer than ${idp.maxGrantLifetime} s`);
  }
  if (typeof payload.sub !== 'string' || payload.sub === '' || typeof payload.jti !== 'string' || payload.jti === '') {
    throw refuse('bad_claims', 'sub and jti must be non-empty strings');
  }
  if (payload.client_id !== context.clientId) {
    throw refuse('client_mismatch', 'the assertion was issued to another client');
  }
  if (idp.clients !== '*' && !idp.clients.includes(context.clientId)) {
    throw refuse('client_not_allowed', 'this identity provider may not issue grants to this client');
  }
  const resource = typeof payload.resource === 'string' ? canonicalResource(context.resources, payload.resource) : undefined;
  if (!resource) throw refuse('unknown_resource', 'the assertion names a resource this server does not protect');
  if (!idp.resources.includes(resource)) {
    throw refuse('resource_not_allowed', 'this identity provider may not grant access to that resource');
  }
  if (payload.scope !== undefined && typeof payload.scope !== 'string') throw refuse('bad_claims', 'scope must be a string');
  return {
    idp,
    subject: payload.sub,
    jti: payload.jti,
    expiresAt: payload.exp!,
    resource,
    scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : undefined,
    claims: payload,
  };
}

function joseReason(error: unknown): [string, string] {
  if (error instanceof joseErrors.JWTExpired) return ['expired', 'the assertion has expired'];
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const claim = error.claim;
    if (claim === 'aud') return ['wrong_audience', 'the assertion is not for this authorization server'];
    if (claim === 'typ') return ['wrong_type', `the assertion's typ must be ${ID_JAG_TYP}`];
    if (claim === 'iat') return ['bad_iat', 'the assertion was issued in the future or too long ago'];
    if (error.reason === 'missing') return ['missing_claim', `the assertion lacks the ${claim} claim`];
    return ['bad_claims', `the assertion's ${claim} claim is invalid`];
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed)
    return ['algorithm_not_allowed', 'the assertion is signed with an algorithm not allowed'];
  if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JWKSNoMatchingKey) {
    return ['bad_signature', 'the assertion signature is not valid'];
  }
  if (error instanceof joseErrors.JWKSTimeout || (error instanceof Error && /fetch|ECONNREFUSED|Expected 200/i.test(error.message))) {
    throw new IdpUnavailableError('the identity provider keys could not be fetched', { cause: error });
  }
  return ['malformed', 'the assertion could not be verified'];
}
