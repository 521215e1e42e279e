/** Type-checked examples for password-policy.ts (its JSDoc shows these regions). */
import { WeakPasswordError, checkPasswordPolicy } from './password-policy.ts';

export function checkPasswordPolicyExample() {
  //#region checkPasswordPolicy
  checkPasswordPolicy('correct horse battery staple', { username: 'alice', roles: ['admin'] }); // ok
  checkPasswordPolicy('Password1', { username: 'bob' }); // throws WeakPasswordError (problem 'common')
  //#endregion checkPasswordPolicy
}
