import { randomBytes } from 'node:crypto';
import { checkPasswordLengths } from './accounts/password-policy.ts';
import type { AccountStore } from './storage/store.ts';

/**
 * In development, makes sure someone can sign in: when there is no account at all, creates
 * `demo` (role admin, so every demo tool can be tried) with a random password and returns the
 * credentials so they are printed once. Never called in production.
 *
 * ```ts source="./demo-user.examples.ts#ensureDemoUser"
 * const created = await ensureDemoUser(storage.accounts); // → { username: 'demo', password } | undefined
 * ```
 */
export async function ensureDemoUser(accounts: AccountStore): Promise<{ username: string; password: string } | undefined> {
  if ((await accounts.count()) > 0) return undefined;
  // 24 random characters (144 bits): past the admin minimum of the password policy. Only the
  // lengths are checked here: a random string is on no list of common passwords, and looking would
  // load that list into every development server's memory for its whole life (~2.4 MB idle RSS,
  // bench/FINDINGS.md); demo-user.test.ts holds the password to the whole policy.
  const password = randomBytes(18).toString('base64url');
  const account = { username: 'demo', name: 'Demo User', email: 'demo@example.com', roles: ['admin'] };
  checkPasswordLengths(password, account);
  await accounts.add({ ...account, password });
  return { username: 'demo', password };
}

// Not anchored: log collectors (docker compose, files) may prefix the line.
const DEMO_LINE = /Demo account created — username: (\S+)\s+password: (\S+)/;
const DEMO_HINT = '(shown only now; add users with: npm run users -- add <name> --password-stdin)';

/**
 * The demo-account block as people see it (auth-server/main.ts prints it, npm start moves it into
 * its banner). {@link parseDemoAccount} reads it back; keep the two together.
 *
 * ```ts source="./demo-user.examples.ts#demoAccountLines"
 * demoAccountLines({ username: 'demo', password: 'x' });
 * // → ['  Demo account created — username: demo  password: x', '  (shown only now; …)']
 * ```
 */
export function demoAccountLines(demo: { username: string; password: string }): string[] {
  return [`  Demo account created — username: ${demo.username}  password: ${demo.password}`, `  ${DEMO_HINT}`];
}

/**
 * Finds the demo account in output that may hold it (a line, a log, a whole stdout).
 *
 * ```ts source="./demo-user.examples.ts#parseDemoAccount"
 * parseDemoAccount(stdout); // → { username: 'demo', password: '…' } | undefined
 * ```
 */
export function parseDemoAccount(text: string): { username: string; password: string } | undefined {
  const match = DEMO_LINE.exec(text);
  return match ? { username: match[1]!, password: match[2]! } : undefined;
}

/**
 * The demo-account line's pattern (as `RegExp` source) and the hint under it, for a reader that
 * cannot import this module: npm start's JavaScript launcher (start.mjs, via start-preflight.ts).
 */
export const demoAccountFormat = { pattern: DEMO_LINE.source, hint: DEMO_HINT };

/** Whether a line is the hint printed under the demo account. */
export function isDemoAccountHint(line: string): boolean {
  return line.trim() === DEMO_HINT;
}
