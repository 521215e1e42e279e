import { randomBytes } from 'node:crypto';
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
  const password = randomBytes(9).toString('base64url');
  await accounts.add({ username: 'demo', password, name: 'Demo User', email: 'demo@example.com', roles: ['admin'] });
  return { username: 'demo', password };
}
