/** Type-checked examples for idp-keys.ts (its JSDoc shows these regions). */
import { jwtVerify } from 'jose';
import type { AuthServerConfig } from '../config.ts';
import { idpKeys } from './idp-keys.ts';
import type { TrustedIdp } from './trusted-idps.ts';

export async function idpKeysExample(config: AuthServerConfig, idp: TrustedIdp, assertion: string) {
  //#region idpKeys
  const keys = idpKeys(config.trustedIdps);
  await jwtVerify(assertion, await keys.resolverFor(idp), { issuer: idp.issuer });
  //#endregion idpKeys
}
