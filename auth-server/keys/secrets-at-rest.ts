import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import { readOrCreate } from './key-store.ts';

/**
 * The key that protects what the auth server keeps encrypted at rest: upstream tokens in the
 * vault, signing keys stored in the database. Encryption is jose's JWE (`dir` + A256GCM): a
 * well-kept library, never our own AEAD code.
 *
 * Rotation: put the new key in AUTH_ENCRYPTION_KEY and the old one in
 * AUTH_ENCRYPTION_KEY_PREVIOUS. Everything sealed with either opens; everything sealed from then on
 * uses the new key. Once every sealed value has been rewritten (or has expired), drop the old key.
 */
export interface EncryptionKeys {
  /** Seals and opens. */
  current: Uint8Array;
  /** Open only: keys being rotated out. */
  previous: Uint8Array[];
}

export const ENCRYPTION_KEY_FILE = 'encryption-key.json';

/** Why the keys could not be loaded; the message names the setting to fix. */
export class EncryptionKeyError extends Error {
  override name = 'EncryptionKeyError';
}

/**
 * The at-rest key: AUTH_ENCRYPTION_KEY (32 bytes, base64 or base64url) when set. Outside production
 * it is otherwise generated in KEYS_DIR on first start, like the signing keys, so `npm start` needs no
 * setup. In production it must come from the environment: a key written next to the data it
 * protects protects nothing once that disk leaks.
 *
 * ```ts source="./secrets-at-rest.examples.ts#loadEncryptionKeys"
 * const keys = await loadEncryptionKeys({ key: process.env.AUTH_ENCRYPTION_KEY, keysDir: './keys', production: false });
 * ```
 */
export async function loadEncryptionKeys(options: {
  key: string | undefined;
  previous?: string[];
  keysDir: string;
  production: boolean;
}): Promise<EncryptionKeys> {
  const previous = (options.previous ?? []).map((value, i) => decodeKey(value, `AUTH_ENCRYPTION_KEY_PREVIOUS (entry ${i + 1})`));
  if (options.key) return { current: decodeKey(options.key, 'AUTH_ENCRYPTION_KEY'), previous };
  if (options.production) {
    throw new EncryptionKeyError(
      'AUTH_ENCRYPTION_KEY is required in production (32 random bytes, base64: `openssl rand -base64 32`)',
    );
  }
  const file = await readOrCreate<{ key: string }>(join(options.keysDir, ENCRYPTION_KEY_FILE), async () => ({
    key: randomBytes(32).toString('base64url'),
  }));
  return { current: decodeKey(file.key, join(options.keysDir, ENCRYPTION_KEY_FILE)), previous };
}

/** A 32-byte key from base64 or base64url; refuses anything else with the setting's name. */
export function decodeKey(value: string, source: string): Uint8Array {
  const bytes = Buffer.from(value.trim().replaceAll('-', '+').replaceAll('_', '/'), 'base64');
  if (bytes.length !== 32) {
    throw new EncryptionKeyError(`${source}: must be 32 bytes in base64 (got ${bytes.length}); make one with \`openssl rand -base64 32\``);
  }
  return new Uint8Array(bytes);
}

/** A short, public name for a key: lets `openSecret` pick the right key without trying each. */
function keyId(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 16);
}

/**
 * Encrypts `plaintext` for storage. `context` names what the value is and where it belongs (say
 * `vault:<account>:<upstream>`); it sits in the integrity-protected header, so a sealed value
 * copied into another row fails to open there.
 *
 * ```ts source="./secrets-at-rest.examples.ts#sealSecret"
 * const sealed = await sealSecret(keys, JSON.stringify(tokens), `vault:${accountId}:github`);
 * const tokensAgain = JSON.parse(await openSecret(keys, sealed, `vault:${accountId}:github`));
 * ```
 */
export async function sealSecret(keys: EncryptionKeys, plaintext: string, context: string): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(plaintext))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: keyId(keys.current), ctx: context })
    .encrypt(keys.current);
}

/** Raised when a sealed value cannot be opened: unknown key, wrong context, or tampered. */
export class SealedSecretError extends Error {
  override name = 'SealedSecretError';
}

/** Decrypts what `sealSecret` produced for the same `context`. */
export async function openSecret(keys: EncryptionKeys, sealed: string, context: string): Promise<string> {
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(sealed) as Record<string, unknown>;
  } catch {
    throw new SealedSecretError('not a sealed value');
  }
  const key = [keys.current, ...keys.previous].find((candidate) => keyId(candidate) === header.kid);
  if (!key) throw new SealedSecretError('sealed with a key that is neither AUTH_ENCRYPTION_KEY nor in AUTH_ENCRYPTION_KEY_PREVIOUS');
  if (header.ctx !== context) throw new SealedSecretError(`sealed for "${String(header.ctx)}", not for "${context}"`);
  try {
    const { plaintext } = await compactDecrypt(sealed, key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
    return new TextDecoder().decode(plaintext);
  } catch {
    throw new SealedSecretError('the sealed value does not decrypt: tampered, or a different key with the same id');
  }
}
