import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

/** A private signing key as oidc-provider takes it: a JWK with `kid`, `alg` and `use`. */
export interface SigningJwk extends JWK {
  kid: string;
  alg: 'ES256' | 'RS256';
  use: 'sig';
}

export interface KeyMaterial {
  /** Private JWKS; for each alg the first key is the one that signs. */
  jwks: { keys: SigningJwk[] };
  /** Cookie-signing secrets; the first signs, all verify. */
  cookieKeys: string[];
}

export const JWKS_FILE = 'private-jwks.json';
export const COOKIE_KEYS_FILE = 'cookie-keys.json';
/** Keys per algorithm kept published after rotation, so tokens signed before it keep verifying. */
const KEEP_PER_ALG = 3;

/**
 * Loads the signing and cookie keys from `keysDir`, generating them on first start
 * (an EC P-256 key for access tokens, an RSA key for ID tokens).
 *
 * @example
 * const { jwks, cookieKeys } = await loadOrCreateKeys('./keys');
 */
export async function loadOrCreateKeys(keysDir: string): Promise<KeyMaterial> {
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  const jwks = await readOrCreate(join(keysDir, JWKS_FILE), async () => ({
    keys: [await generateSigningKey('ES256'), await generateSigningKey('RS256')],
  }));
  const cookieKeys = await readOrCreate(join(keysDir, COOKIE_KEYS_FILE), async () => [randomBytes(32).toString('base64url')]);
  assertKeySet(jwks, keysDir);
  return { jwks, cookieKeys };
}

/**
 * Adds a new ES256 and RS256 key in front (they sign from the next start on); older keys stay
 * published for verification, up to three per algorithm.
 *
 * @example
 * const added = await rotateKeys('./keys'); // → the new kids
 */
export async function rotateKeys(keysDir: string): Promise<string[]> {
  const { jwks } = await loadOrCreateKeys(keysDir);
  const fresh = [await generateSigningKey('ES256'), await generateSigningKey('RS256')];
  const keep = (alg: string) => jwks.keys.filter((k) => k.alg === alg).slice(0, KEEP_PER_ALG - 1);
  const keys = [...fresh, ...keep('ES256'), ...keep('RS256')];
  await writeSecret(join(keysDir, JWKS_FILE), { keys });
  return fresh.map((k) => k.kid);
}

/** Public view of the signing keys, for `npm run keys -- list`. */
export async function listKeys(keysDir: string): Promise<{ kid: string; alg: string; current: boolean }[]> {
  const { jwks } = await loadOrCreateKeys(keysDir);
  const seen = new Set<string>();
  return jwks.keys.map((key) => {
    const current = !seen.has(key.alg);
    seen.add(key.alg);
    return { kid: key.kid, alg: key.alg, current };
  });
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

export async function generateSigningKey(alg: 'ES256' | 'RS256'): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  // The date in the kid tells operators at a glance which key is which generation.
  const date = new Date().toISOString().slice(0, 10).replaceAll('-', '');
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

/** Writes atomically (temp file + rename) with mode 0600, so a crash never leaves half a key file. */
async function writeSecret(path: string, value: unknown): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
}

function assertKeySet(jwks: { keys: SigningJwk[] }, keysDir: string): void {
  const algs = new Set(jwks.keys?.map((k) => k.alg));
  if (!algs.has('ES256') || !algs.has('RS256')) {
    throw new Error(`${join(keysDir, JWKS_FILE)} must hold an ES256 and an RS256 private key`);
  }
}
