/** Type-checked examples for unknown-env.ts (its JSDoc shows these regions). */
import { unknownSettings } from './unknown-env.ts';

export function unknownSettingsExample() {
  //#region unknownSettings
  unknownSettings({ AUTH_ISUER: 'https://auth.example' });
  // → [{ variable: 'AUTH_ISUER', closest: 'AUTH_ISSUER', message: 'AUTH_ISUER is not a setting … did you mean AUTH_ISSUER?' }]
  //#endregion unknownSettings
}
