/** Type-checked examples for trusted-idps.ts (its JSDoc shows these regions). */
import { loadTrustedIdps } from './trusted-idps.ts';

export function loadTrustedIdpsExample() {
  //#region loadTrustedIdps
  const { idps, problems } = loadTrustedIdps(process.env.AUTH_TRUSTED_IDPS, ['http://localhost:3001/mcp']);
  //#endregion loadTrustedIdps
  return { idps, problems };
}
