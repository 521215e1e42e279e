import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

/** A private signing key as oidc-provider takes it: a JWK with `kid`, `alg` and `use`. */
export interface SigningJwk extends JWK {
  kid: string;
  alg: 'ES256' | 'RS256';
  use: 'sig';
}

export const JWKS_FILE = 'private-jwks.json';
export const COOKIE_KEYS_FILE = 'cookie-keys.json';

/**
 * Loads the cookie-signing secrets from `keysDir` (the first signs, all verify), generating them on
 * first start. The signing keys have their own life cycle and store: signing-keys.ts.
 *
 * ```ts source="./key-store.examples.ts#loadOrCreateCookieKeys"
 * const cookieKeys = await loadOrCreateCookieKeys('./keys');
 * ```
 */
export async function loadOrCreateCookieKeys(keysDir: string): Promise<string[]> {
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  return readOrCreate(join(keysDir, COOKIE_KEYS_FILE), async () => [randomBytes(32).toString('base64url')]);
}

/**
 * Reads the file, or creates it exclusively: when several instances start at once on an empty
 * KEYS_DIR, one wins the create and the others read what it wrote, so all sign with one key set.
 */
export async function readOrCreate<T>(path: string, create: () => Promise<T>): Promise<T> {
  const existing = await readJson<T>(path);
  if (existing) return existing;
  const value = await create();
  try {
    const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
    // link() fails if the target exists: an atomic "create if absent" that never exposes a half-written file.
    await link(temp, path).finally(() => unlink(temp));
    return value;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return (await readJson<T>(path))!;
  }
}

export async function generateSigningKey(alg: 'ES256' | 'RS256', now = new Date()): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  // The date in the kid tells operators at a glance which key is which generation.
  const date = now.toISOString().slice(0, 10).replaceAll('-', '');
  const thumbprint = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid: `${alg.toLowerCase()}-${date}-${thumbprint.slice(0, 12)}`, alg, use: 'sig' };
}

async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${path} is not valid JSON; restore it from a backup or remove it to generate new keys`);
  }
}
