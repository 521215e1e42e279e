/** Type-checked examples for session-persist.ts (its JSDoc shows these regions). */
import type Provider from 'oidc-provider';
import { tolerateUnsavedSessions } from './session-persist.ts';

export function tolerateUnsavedSessionsExample(provider: Provider) {
  //#region tolerateUnsavedSessions
  tolerateUnsavedSessions(provider);
  //#endregion tolerateUnsavedSessions
}
