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
 * The JWKS file: the private keys, newest first per algorithm, and when `rotate` added each key.
 * The auth server reads only `keys`; `added` lets `npm run keys -- list` say which key a server
 * signs with, given when it started (the original keys, made at the first start, have no entry).
 */
interface JwksFile {
  keys: SigningJwk[];
  added?: Record<string, string>;
}

/**
 * Loads the signing and cookie keys from `keysDir`, generating them on first start
 * (an EC P-256 key for access tokens, an RSA key for ID tokens).
 *
 * ```ts source="./key-store.examples.ts#loadOrCreateKeys"
 * const { jwks, cookieKeys } = await loadOrCreateKeys('./keys');
 * ```
 */
export async function loadOrCreateKeys(keysDir: string): Promise<KeyMaterial> {
  const file = await loadJwksFile(keysDir);
  const cookieKeys = await readOrCreate(join(keysDir, COOKIE_KEYS_FILE), async () => [randomBytes(32).toString('base64url')]);
  return { jwks: { keys: file.keys }, cookieKeys };
}

async function loadJwksFile(keysDir: string): Promise<JwksFile> {
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  const file = await readOrCreate<JwksFile>(join(keysDir, JWKS_FILE), async () => ({
    keys: [await generateSigningKey('ES256'), await generateSigningKey('RS256')],
  }));
  assertKeySet(file, keysDir);
  return file;
}

/**
 * Adds a new ES256 and RS256 key in front; older keys stay published for verification, up to
 * three per algorithm. A running auth server keeps signing with the keys it loaded at its start:
 * the new keys sign from its next start on.
 *
 * ```ts source="./key-store.examples.ts#rotateKeys"
 * const added = await rotateKeys('./keys'); // → the new kids
 * ```
 */
export async function rotateKeys(keysDir: string, now: Date = new Date()): Promise<string[]> {
  const file = await loadJwksFile(keysDir);
  const fresh = [await generateSigningKey('ES256', now), await generateSigningKey('RS256', now)];
  const keep = (alg: string) => file.keys.filter((k) => k.alg === alg).slice(0, KEEP_PER_ALG - 1);
  const keys = [...fresh, ...keep('ES256'), ...keep('RS256')];
  const added = Object.fromEntries(
    [...Object.entries(file.added ?? {}).filter(([kid]) => keys.some((k) => k.kid === kid)), ...fresh.map((k) => [k.kid, now.toISOString()])],
  );
  await writeSecret(join(keysDir, JWKS_FILE), { keys, added } satisfies JwksFile);
  return fresh.map((k) => k.kid);
}

/** One signing key as `npm run keys -- list` shows it. */
export interface ListedKey {
  kid: string;
  alg: string;
  /** The newest key of its algorithm: what an auth server started after `addedAt` signs with. */
  newest: boolean;
  /** When `rotate` added it (ISO); undefined for the keys made at the first start. */
  addedAt: string | undefined;
  /** When the next newer key of its algorithm was added: servers started since sign with that one. */
  supersededAt: string | undefined;
}

/**
 * Public view of the signing keys, newest first per algorithm. A server signs with the newest key
 * of each algorithm that existed when it started: a key signs on servers started between its
 * `addedAt` and its `supersededAt`.
 */
export async function listKeys(keysDir: string): Promise<ListedKey[]> {
  const file = await loadJwksFile(keysDir);
  const previous = new Map<string, SigningJwk>();
  return file.keys.map((key) => {
    const newer = previous.get(key.alg);
    previous.set(key.alg, key);
    return {
      kid: key.kid,
      alg: key.alg,
      newest: newer === undefined,
      addedAt: file.added?.[key.kid],
      supersededAt: newer ? file.added?.[newer.kid] : undefined,
    };
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
