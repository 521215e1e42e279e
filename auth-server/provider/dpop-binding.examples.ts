/** Type-checked examples for dpop-binding.ts (its JSDoc shows these regions). */
import type { KoaContextWithOIDC } from 'oidc-provider';
import { dpopProofOf, spendDpopProof } from './dpop-binding.ts';

export async function dpopProofOfExample(ctx: KoaContextWithOIDC) {
  const token = new ctx.oidc.provider.AccessToken({ client: ctx.oidc.client! } as never);
  //#region dpopProofOf
  const proof = await dpopProofOf(ctx);
  // … every check of the grant …
  const jkt = await spendDpopProof(ctx, proof);
  // … spend the grant, build the token …
  if (jkt) token.setThumbprint('jkt', jkt);
  //#endregion dpopProofOf
}
