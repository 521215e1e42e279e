/** Type-checked examples for bearer.ts (its JSDoc shows these regions). */
import type { IncomingMessage } from 'node:http';
import { createBearerVerifier } from './bearer.ts';

export async function createBearerVerifierExample(req: IncomingMessage) {
  //#region createBearerVerifier
  const verify = createBearerVerifier({ issuer: 'http://localhost:3000', audience: 'http://localhost:3001/mcp' });
  const authInfo = await verify({
    authorization: req.headers.authorization,
    dpop: undefined,
    method: 'POST',
    url: 'http://localhost:3001/mcp',
  });
  authInfo.extra?.sub; // the caller
  //#endregion createBearerVerifier
}
