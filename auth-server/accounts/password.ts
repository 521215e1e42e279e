import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { InvalidAccountError } from '../storage/store.ts';

/**
 * Password hashing with scrypt. Stored as `scrypt$N=16384,r=8,p=1$<salt>$<hash>` (base64url), so
 * the cost can be raised later without breaking existing hashes: verification reads the
 * parameters from the stored string, not from these constants.
 */
const COST = { N: 16_384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Longer inputs are refused: nobody types them, and they are a cheap way to burn our CPU. */
export const MAX_PASSWORD_LENGTH = 1024;

// Bounds on parameters read back from storage, so a tampered hash cannot ask for gigabytes.
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/**
 * Hashes a password for storage, with a fresh random salt.
 * Throws InvalidAccountError for an empty password or one longer than 1024 characters.
 *
 * ```ts source="./password.examples.ts#hashPassword"
 * const stored = await hashPassword('correct horse battery staple');
 * // 'scrypt$N=16384,r=8,p=1$…$…'
 * ```
 */
export async function hashPassword(password: string): Promise<string> {
  if (password.length === 0) throw new InvalidAccountError('the password must not be empty');
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new InvalidAccountError(`the password must be at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, COST.N, COST.r, COST.p, KEY_BYTES);
  return `scrypt$N=${COST.N},r=${COST.r},p=${COST.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/**
 * Checks a password against a stored hash in constant time. Returns false (never throws) for a
 * wrong password, a malformed or tampered hash, or an out-of-range password.
 * Pass `undefined` for an unknown user: it then checks against a dummy hash, so the answer
 * takes as long as for a real user and usernames cannot be probed by timing.
 *
 * ```ts source="./password.examples.ts#verifyPassword"
 * const ok = await verifyPassword(typed, row?.password_hash); // false for an unknown user too, after the same work
 * ```
 */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const parsed = parseHash(stored ?? (await dummyHash()));
  if (!parsed) return false;
  // Range check after the dummy lookup but before hashing: its timing depends only on the input.
  if (password.length === 0 || password.length > MAX_PASSWORD_LENGTH) return false;
  const candidate = await derive(password, parsed.salt, parsed.N, parsed.r, parsed.p, parsed.hash.length);
  return timingSafeEqual(candidate, parsed.hash) && stored !== undefined;
}

let dummy: Promise<string> | undefined;
/** A real hash of a random password with the current cost, made once per process. */
function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(18).toString('base64url'));
  return dummy;
}

function parseHash(stored: string): ParsedHash | undefined {
  const match = /^scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored);
  if (!match) return undefined;
  const [, n, r, p, salt, hash] = match;
  const N = Number(n);
  const R = Number(r);
  const P = Number(p);
  const isPowerOfTwo = N > 1 && (N & (N - 1)) === 0;
  if (!isPowerOfTwo || N > MAX_N || R < 1 || R > MAX_R || P < 1 || P > MAX_P) return undefined;
  const saltBytes = Buffer.from(salt!, 'base64url');
  const hashBytes = Buffer.from(hash!, 'base64url');
  if (saltBytes.length < 8 || hashBytes.length < 16 || hashBytes.length > 64) return undefined;
  return { N, r: R, p: P, salt: saltBytes, hash: hashBytes };
}

/**
 * How many scrypt derivations run at once; the others wait here, in order. Each holds 128·N·r bytes
 * (16 MiB at the current cost) in a libuv pool thread while it runs, and more derivations than
 * cores finish no sooner, they only share the cores. Unbounded, a burst of logins took all four of
 * the pool's threads (64 MiB), and jose's token signing (WebCrypto, on the same pool) waited behind
 * them; two leave it two threads. bench/FINDINGS.md has the numbers.
 */
export const MAX_CONCURRENT_DERIVATIONS = Math.min(availableParallelism(), 2);
let running = 0;
const waiting: (() => void)[] = [];

async function derive(password: string, salt: Buffer, N: number, r: number, p: number, length: number): Promise<Buffer> {
  if (running >= MAX_CONCURRENT_DERIVATIONS) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  // scrypt needs 128·N·r bytes; node's default cap (32 MiB) would refuse raised parameters.
  const options: ScryptOptions = { N, r, p, maxmem: 128 * N * r + 1024 * 1024 };
  try {
    return await new Promise((resolve, reject) => {
      scrypt(password.normalize('NFC'), salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
    });
  } finally {
    // The slot passes straight to the next in line (running stays the same), else it is freed.
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}
