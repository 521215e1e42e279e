/** Type-checked examples for new-account.ts (its JSDoc shows these regions). */
import { isValidUsername, validateNewAccount, newAccountRecord, looksLikeAccountId } from './new-account.ts';

export function isValidUsernameExample() {
  //#region isValidUsername
  isValidUsername('alice@example'); // true
  isValidUsername('alice smith'); // false
  //#endregion isValidUsername
}

export function validateNewAccountExample() {
  //#region validateNewAccount
  const fields = validateNewAccount({ username: 'alice', password: 'x', roles: ['admin', 'admin'] });
  // { username: 'alice', name: null, email: null, roles: ['admin'] }
  //#endregion validateNewAccount
}

export async function newAccountRecordExample() {
  //#region newAccountRecord
  const { account, passwordHash } = await newAccountRecord({ username: 'alice', password: 'pw' }, Date.now());
  //#endregion newAccountRecord
}

export function looksLikeAccountIdExample() {
  //#region looksLikeAccountId
  looksLikeAccountId('Qm9iIGlzIGEgZ29vZCBib3'); // true
  //#endregion looksLikeAccountId
}
