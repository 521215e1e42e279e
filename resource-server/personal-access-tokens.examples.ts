/** Type-checked examples for personal-access-tokens.ts (its JSDoc shows these regions). */
import { createPatVerifier } from './personal-access-tokens.ts';
import type { Secret } from './secret.ts';

export async function createPatVerifierExample(introspectionUrl: string, issuer: string, client: { id: string; secret: Secret }) {
  //#region createPatVerifier
  const verifyPat = createPatVerifier({ introspectionUrl, issuer, client, cacheMs: 10_000, timeoutMs: 2_000 });
  const authInfo = await verifyPat('mcp_pat_…', 'http://localhost:3001/mcp');
  //#endregion createPatVerifier
  return authInfo;
}
