// oidc-provider 9's own DPoP helpers (lib/helpers/validate_dpop.js, sender_constraints.js): its
// built-in grants receive them as a `helpers` argument that registerGrantType's handlers are not
// given, and @types/oidc-provider does not describe the files. The package has no `exports` map,
// so the files are importable; these are the signatures of 9.13 (dpop-binding.ts uses them).
declare module 'oidc-provider/lib/helpers/validate_dpop.js' {
  import type Provider from 'oidc-provider';
  import type { KoaContextWithOIDC } from 'oidc-provider';
  /** A valid proof's key thumbprint and identifiers; undefined without a DPoP header. Throws InvalidDpopProof / UseDpopNonce. */
  export default function validateDpop(
    provider: Provider,
    ctx: KoaContextWithOIDC,
    accessToken?: string,
  ): Promise<{ thumbprint: string; jti: string; iat: number } | undefined>;
  /** The proof's jti once only (ReplayDetection); throws InvalidGrant on a replay. */
  export function checkDpopReplay(
    provider: Provider,
    ctx: KoaContextWithOIDC,
    dPoP: { jti: string } | undefined,
    clientId: string,
  ): Promise<void>;
}

declare module 'oidc-provider/lib/helpers/sender_constraints.js' {
  import type Provider from 'oidc-provider';
  import type { KoaContextWithOIDC } from 'oidc-provider';
  /** Throws InvalidGrant when the client registered dpop_bound_access_tokens and sent no proof. */
  export function checkDpopRequired(provider: Provider, ctx: KoaContextWithOIDC, dPoP: unknown): void;
}
