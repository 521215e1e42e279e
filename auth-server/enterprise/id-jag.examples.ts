/** Type-checked examples for id-jag.ts (its JSDoc shows these regions). */
import { verifyIdJag } from './id-jag.ts';
import type { idpKeys } from './idp-keys.ts';
import type { TrustedIdp } from './trusted-idps.ts';

export async function verifyIdJagExample(
  assertion: string,
  idps: TrustedIdp[],
  keys: ReturnType<typeof idpKeys>,
  issuer: string,
  clientId: string,
  resources: string[],
) {
  //#region verifyIdJag
  const grant = await verifyIdJag(assertion, { idps, keys, issuer, clientId, resources, now: () => new Date() });
  //#endregion verifyIdJag
  return grant;
}
