/** Type-checked examples for dpop.ts (its JSDoc shows these regions). */
import type { IncomingMessage } from 'node:http';
import { createDpopVerifier } from './dpop.ts';

export async function createDpopVerifierExample(req: IncomingMessage, accessToken: string, jkt: string) {
  //#region createDpopVerifier
  const checkDpop = createDpopVerifier({ iatWindowSec: 60 });
  await checkDpop({ proof: req.headers.dpop as string | undefined, method: 'POST', url: 'https://rs/mcp', accessToken, jkt });
  //#endregion createDpopVerifier
}
