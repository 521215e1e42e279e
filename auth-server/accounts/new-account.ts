import { randomBytes } from 'node:crypto';
import { InvalidAccountError, type Account, type NewAccount } from '../storage/store.ts';
import { hashPassword } from './password.ts';

/** What a store writes for a new account, after the rules below have been applied. */
export interface ValidAccountFields {
  username: string;
  name: string | null;
  email: string | null;
  roles: string[];
}

// Usernames appear in URLs, logs and the CLI's table: keep them to a plain, printable set.
const USERNAME = /^[A-Za-z0-9._@-]{1,64}$/;
const ROLE = /^[A-Za-z0-9._:-]{1,64}$/;
// Deliberately loose: one @, no spaces. Whether mail arrives is not ours to decide (email_verified is false).
const EMAIL = /^[^\s@]+@[^\s@]+$/;
// eslint-disable-next-line no-control-regex -- finding control characters is this pattern's job
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Whether a string may be a username: 1–64 characters of A–Z a–z 0–9 . _ @ -.
 *
 * ```ts source="./new-account.examples.ts#isValidUsername"
 * isValidUsername('alice@example'); // true
 * isValidUsername('alice smith'); // false
 * ```
 */
export function isValidUsername(username: string): boolean {
  return USERNAME.test(username);
}

/**
 * Checks and tidies a new account's fields (not the password: hashing checks that).
 * Throws InvalidAccountError naming the field at fault.
 *
 * ```ts source="./new-account.examples.ts#validateNewAccount"
 * const fields = validateNewAccount({ username: 'alice', password: 'x', roles: ['admin', 'admin'] });
 * // { username: 'alice', name: null, email: null, roles: ['admin'] }
 * ```
 */
export function validateNewAccount(input: NewAccount): ValidAccountFields {
  const { username } = input;
  if (typeof username !== 'string' || !isValidUsername(username)) {
    throw new InvalidAccountError(`invalid username ${JSON.stringify(username)}: use 1–64 characters from A–Z a–z 0–9 . _ @ -`);
  }
  const name = optionalText(input.name, 'name', 200);
  const email = optionalText(input.email, 'email', 254);
  if (email !== null && !EMAIL.test(email)) throw new InvalidAccountError(`invalid email ${JSON.stringify(email)}`);
  const roles = [...new Set(input.roles ?? [])];
  for (const role of roles) {
    if (typeof role !== 'string' || !ROLE.test(role)) {
      throw new InvalidAccountError(`invalid role ${JSON.stringify(role)}: use 1–64 characters from A–Z a–z 0–9 . _ : -`);
    }
  }
  return { username, name, email, roles };
}

function optionalText(value: string | null | undefined, field: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  const trimmed = value.trim();
  if (trimmed === '') return null;
  if (trimmed.length > max || CONTROL.test(trimmed)) {
    throw new InvalidAccountError(`invalid ${field}: at most ${max} printable characters`);
  }
  return trimmed;
}

/**
 * The row a store inserts for a new account: checked fields, a fresh subject id and the
 * password's hash. Both stores insert exactly this.
 *
 * ```ts source="./new-account.examples.ts#newAccountRecord"
 * const { account, passwordHash } = await newAccountRecord({ username: 'alice', password: 'pw' }, Date.now());
 * ```
 */
export async function newAccountRecord(input: NewAccount, now: number): Promise<{ account: Account; passwordHash: string }> {
  const fields = validateNewAccount(input);
  const passwordHash = await hashPassword(input.password);
  // The OIDC `sub`: random and unrelated to the username, so renaming never changes it.
  return { account: { id: randomBytes(16).toString('base64url'), ...fields, createdAt: now, disabledAt: null }, passwordHash };
}

/** The shape of every account id (16 random bytes, base64url); client ids are kept out of it. */
const ACCOUNT_ID = /^[A-Za-z0-9_-]{22}$/;

/**
 * Whether `id` has the shape of an account id. Client ids never do (registration's are 21
 * characters, the operator's start with `mc_` and are longer, URL client ids have `:` and `/`,
 * RS_CLIENT_ID is refused in this shape), so a token's `sub` equals its `client_id` only when it
 * was issued without a user.
 *
 * ```ts source="./new-account.examples.ts#looksLikeAccountId"
 * looksLikeAccountId('Qm9iIGlzIGEgZ29vZCBib3'); // true
 * ```
 */
export function looksLikeAccountId(id: string): boolean {
  return ACCOUNT_ID.test(id);
}
