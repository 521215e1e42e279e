/** Type-checked examples for csrf.ts (its JSDoc shows these regions). */
import { csrfTokens } from './csrf.ts';

export function csrfTokensExample(cookieKeys: string[], uid: string) {
  //#region csrfTokens
  const csrf = csrfTokens(cookieKeys);
  const token = csrf.issue(uid);
  csrf.verify(uid, token); // → true
  //#endregion csrfTokens
}
