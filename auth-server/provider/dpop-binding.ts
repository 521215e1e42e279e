import type { KoaContextWithOIDC } from 'oidc-provider';
import { checkDpopRequired } from 'oidc-provider/lib/helpers/sender_constraints.js';
import validateDpop, { checkDpopReplay } from 'oidc-provider/lib/helpers/validate_dpop.js';

/** A checked DPoP proof (RFC 9449): the thumbprint of its key, and its jti for the replay check. */
export interface DpopProof {
  thumbprint: string;
  jti: string;
  iat: number;
}

/**
 * DPoP for grants we register ourselves (the ID-JAG jwt-bearer grant), done by oidc-provider's
 * own code, exactly as its client_credentials grant does it: the proof is checked (signature
 * with the embedded key, `typ` dpop+jwt, `htm`, `htu` = the token endpoint, `iat` window,
 * nonce when required) before anything else, and a client registered with
 * `dpop_bound_access_tokens` must send one. Undefined without a `DPoP` header. Throws
 * InvalidDpopProof / UseDpopNonce / InvalidGrant, which oidc-provider answers as for its own grants.
 *
 * ```ts source="./dpop-binding.examples.ts#dpopProofOf"
 * const proof = await dpopProofOf(ctx);
 * // … every check of the grant …
 * const jkt = await spendDpopProof(ctx, proof);
 * // … spend the grant, build the token …
 * if (jkt) token.setThumbprint('jkt', jkt);
 * ```
 */
export async function dpopProofOf(ctx: KoaContextWithOIDC): Promise<DpopProof | undefined> {
  const proof = await validateDpop(ctx.oidc.provider, ctx);
  checkDpopRequired(ctx.oidc.provider, ctx, proof);
  return proof;
}

/**
 * Spends the proof's `jti` (oidc-provider's ReplayDetection, through our store, so across
 * instances) and returns the key thumbprint to bind the access token to (`setThumbprint('jkt', …)`:
 * `cnf.jkt` in the JWT, token_type DPoP); undefined without a proof. Call it after the grant's
 * own checks, so a refused request does not use up the proof, and before the grant's single-use
 * `jti` is spent, so a replayed proof does not burn the grant. Throws InvalidGrant on a replay.
 */
export async function spendDpopProof(ctx: KoaContextWithOIDC, proof: DpopProof | undefined): Promise<string | undefined> {
  if (!proof) return undefined;
  await checkDpopReplay(ctx.oidc.provider, ctx, proof, ctx.oidc.client!.clientId);
  return proof.thumbprint;
}
