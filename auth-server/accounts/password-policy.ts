import { createRequire } from 'node:module';
import { InvalidAccountError } from '../storage/store.ts';

let commonPasswords: typeof import('fxa-common-password-list') | undefined;

/**
 * The list, loaded at the first password that gets this far (a CommonJS package, so `require`
 * loads it synchronously): it decodes into 50,000 strings that stay in memory, ~2.4 MB of idle
 * RSS (bench/FINDINGS.md) that a server setting no password never needs.
 */
function isCommonPassword(lowerCase: string): boolean {
  commonPasswords ??= createRequire(import.meta.url)('fxa-common-password-list') as typeof import('fxa-common-password-list');
  return commonPasswords.test(lowerCase);
}

/**
 * The rules a new password must meet, after NIST SP 800-63B (5.1.1.2): a minimum length, a
 * maximum, and no password from a list of commonly used ones; no composition rules.
 *
 * - At least 8 characters for everyone (NIST's floor).
 * - At least 15 for accounts with the `admin` role: refused, not just warned about. The role
 *   unlocks the admin tools, our passwords are a single factor, and SP 800-63B-4 asks 15 of a
 *   single-factor password; a CLI warning is easy to scroll past, a refusal is not.
 * - At most 256: nobody types more, and it bounds the work an input can cause. (The hash
 *   itself accepts 1024 so that older, longer passwords still verify.)
 * - Not one of the 50,000 most common passwords of 8+ characters (fxa-common-password-list:
 *   Mozilla's list for Firefox Accounts, from the SecLists 10-million-password corpus), compared
 *   case-insensitively, and not the username itself.
 *
 * Lengths count Unicode code points after NFC normalisation, as the hash sees the password.
 */
export const PASSWORD_POLICY = {
  minLength: 8,
  /** For accounts with `adminRole`. */
  adminMinLength: 15,
  maxLength: 256,
  adminRole: 'admin',
} as const;

export type PasswordProblem = 'too_short' | 'too_long' | 'common' | 'username';

/** A password the policy refuses. The message is one stable line starting "password refused:". */
export class WeakPasswordError extends InvalidAccountError {
  readonly problem: PasswordProblem;

  constructor(problem: PasswordProblem, message: string) {
    super(`password refused: ${message}`);
    this.name = 'WeakPasswordError';
    this.problem = problem;
  }
}

/**
 * Throws WeakPasswordError when `password` may not be set for the account; returns otherwise.
 * Every place that sets a password people chose calls this first (the users CLI, the admin console).
 *
 * ```ts source="./password-policy.examples.ts#checkPasswordPolicy"
 * checkPasswordPolicy('correct horse battery staple', { username: 'alice', roles: ['admin'] }); // ok
 * checkPasswordPolicy('Password1', { username: 'bob' }); // throws WeakPasswordError (problem 'common')
 * ```
 */
export function checkPasswordPolicy(password: string, account: { username: string; roles?: readonly string[] }): void {
  const normalized = checkPasswordLengths(password, account);
  const lower = normalized.toLowerCase();
  if (lower === account.username.toLowerCase()) {
    throw new WeakPasswordError('username', 'it must not be the username');
  }
  if (isCommonPassword(lower)) {
    throw new WeakPasswordError('common', 'it is on the list of the most common passwords; choose another');
  }
}

/**
 * Only the length rules of {@link checkPasswordPolicy}, for a password we generated ourselves (the
 * demo account's), which no list of common passwords holds. Returns the NFC-normalised password.
 */
export function checkPasswordLengths(password: string, account: { roles?: readonly string[] }): string {
  const normalized = password.normalize('NFC');
  const length = [...normalized].length;
  const { minLength, adminMinLength, maxLength, adminRole } = PASSWORD_POLICY;
  if (account.roles?.includes(adminRole) && length < adminMinLength) {
    throw new WeakPasswordError('too_short', `accounts with the ${adminRole} role need at least ${adminMinLength} characters`);
  }
  if (length < minLength) throw new WeakPasswordError('too_short', `use at least ${minLength} characters`);
  if (length > maxLength) throw new WeakPasswordError('too_long', `use at most ${maxLength} characters`);
  return normalized;
}
