import { randomBytes } from 'node:crypto';
import { checkPasswordPolicy } from './accounts/password-policy.ts';
import type { AccountStore } from './storage/store.ts';

/**
 * In development, makes sure someone can sign in: when there is no account at all, creates
 * `demo` (role admin, so every demo tool can be tried) with a random password and returns the
 * credentials so they are printed once. Never called in production.
 *
 * @example
 * const created = await ensureDemoUser(storage.accounts); // → { username: 'demo', password } | undefined
 */
export async function ensureDemoUser(accounts: AccountStore): Promise<{ username: string; password: string } | undefined> {
  if ((await accounts.count()) > 0) return undefined;
  // 24 random characters (144 bits): past the admin minimum of the password policy, which the
  // demo account goes through like every other password.
  const password = randomBytes(18).toString('base64url');
  const account = { username: 'demo', name: 'Demo User', email: 'demo@example.com', roles: ['admin'] };
  checkPasswordPolicy(password, account);
  await accounts.add({ ...account, password });
  return { username: 'demo', password };
}
