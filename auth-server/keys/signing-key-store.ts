import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SigningKeyRowStore } from '../storage/signing-key-rows.ts';
import { COOKIE_KEYS_FILE, JWKS_FILE, loadOrCreateCookieKeys, type SigningJwk } from './key-store.ts';
import { openSecret, sealSecret, SealedSecretError, type EncryptionKeys } from './secrets-at-rest.ts';
import type { SigningKeyRecord, SigningKeySet, SigningKeyState } from './signing-key-set.ts';

/**
 * Where the signing-key set lives. Two kinds, chosen by AUTH_KEY_STORE:
 *
 * - `file` (default): KEYS_DIR/private-jwks.json, mode 0600. One machine (or a shared volume).
 * - `database`: the auth server's database (SQLite or PostgreSQL), each private key sealed with
 *   AUTH_ENCRYPTION_KEY. Instances on several machines share it without sharing a disk.
 *
 * Every write is a compare-and-set on the generation, so a rotation from the CLI, the console
 * and a first start racing each other apply one at a time, never half each.
 */
export interface SigningKeyStore {
  /** For messages: "KEYS_DIR/private-jwks.json" or "the database". */
  readonly description: string;
  /** The stored set's generation (0 when none): the cheap check every instance polls. */
  generation(): Promise<number>;
  /** The stored set; `legacy` when the file still has the list format of before key states. */
  read(): Promise<StoredKeys>;
  /** Writes `set` if the stored generation is still `expected`; false when someone else wrote first. */
  write(expected: number, set: SigningKeySet): Promise<boolean>;
  /**
   * After `migrate` copied the keys elsewhere: the file is renamed (MIGRATED_FILE), the database
   * rows are deleted, so a server still pointed here refuses to start instead of signing with a
   * copy that no longer rotates.
   */
  markMigrated(): Promise<void>;
  /**
   * The cookie-signing secrets kept with the signing keys (every instance must sign cookies alike):
   * KEYS_DIR/cookie-keys.json, or sealed in the database. Made on first use, once.
   */
  loadCookieKeys(): Promise<string[]>;
  /** Replaces them (`migrate` copies them with the signing keys). */
  writeCookieKeys(keys: string[]): Promise<void>;
}

/** `empty` with `migratedAway`: the keys were moved to the other store; the message says where. */
export type StoredKeys = { set: SigningKeySet } | { legacy: SigningJwk[] } | { empty: true; migratedAway?: string };

/** A key store that cannot be read as it is: names the store and what to do. */
export class SigningKeyStoreError extends Error {
  override name = 'SigningKeyStoreError';
}

/** Set once `npm run keys -- migrate --to database` moved the file's keys away. */
export const MIGRATED_FILE = `${JWKS_FILE}.migrated`;

interface KeyFile {
  /** 2: key records with states (signing-key-set.ts). Absent: the newest-first list before that. */
  format?: number;
  generation?: number;
  keys: (SigningKeyRecord | SigningJwk)[];
}

/**
 * The file store. Writes take a lock file (created exclusively, so one writer at a time, even
 * across processes on one volume) and replace the key file atomically (temp file + rename), so
 * a reader sees the old set or the new one, never half.
 *
 * ```ts source="./signing-key-store.examples.ts#fileKeyStore"
 * const store = fileKeyStore('./keys');
 * const stored = await store.read();
 * ```
 */
export function fileKeyStore(keysDir: string): SigningKeyStore {
  const path = join(keysDir, JWKS_FILE);
  const read = async (): Promise<StoredKeys> => {
    const file = await readKeyFile(path);
    if (!file) {
      if (await exists(join(keysDir, MIGRATED_FILE))) {
        return {
          empty: true,
          migratedAway:
            `the signing keys in ${keysDir} were migrated to the database: set AUTH_KEY_STORE=database, ` +
            'or bring them back with `npm run keys -- migrate --to file`',
        };
      }
      return { empty: true };
    }
    if (file.format === 2) return { set: { generation: file.generation ?? 1, keys: file.keys as SigningKeyRecord[] } };
    return { legacy: file.keys as SigningJwk[] };
  };
  return {
    description: path,
    async generation() {
      const stored = await read();
      return 'set' in stored ? stored.set.generation : 0;
    },
    read,
    async write(expected, set) {
      await mkdir(keysDir, { recursive: true, mode: 0o700 });
      return withLock(`${path}.lock`, async () => {
        const current = await readKeyFile(path);
        if ((current?.format === 2 ? (current.generation ?? 1) : 0) !== expected) return false;
        const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
        await writeFile(temp, `${JSON.stringify({ format: 2, generation: set.generation, keys: set.keys } satisfies KeyFile, null, 2)}\n`, {
          mode: 0o600,
        });
        await chmod(temp, 0o600);
        await rename(temp, path);
        await unlink(join(keysDir, MIGRATED_FILE)).catch(() => undefined);
        return true;
      });
    },
    async markMigrated() {
      await withLock(`${path}.lock`, () => rename(path, join(keysDir, MIGRATED_FILE)));
    },
    loadCookieKeys: () => loadOrCreateCookieKeys(keysDir),
    async writeCookieKeys(keys) {
      await mkdir(keysDir, { recursive: true, mode: 0o700 });
      const target = join(keysDir, COOKIE_KEYS_FILE);
      const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(temp, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
      await rename(temp, target);
    },
  };
}

/**
 * The database store: rows of storage/signing-key-rows.ts, each private JWK sealed with the
 * at-rest key under the context `signing-key:<kid>`, so a sealed key moved to another row does not
 * open. A wrong AUTH_ENCRYPTION_KEY fails the read with a message saying so (at start: the server
 * does not start; on a poll: the instance keeps the keys it has).
 *
 * ```ts source="./signing-key-store.examples.ts#databaseKeyStore"
 * const store = databaseKeyStore(storage.signingKeys, encryptionKeys);
 * const generation = await store.generation();
 * ```
 */
export function databaseKeyStore(rows: SigningKeyRowStore, encryption: EncryptionKeys): SigningKeyStore {
  return {
    description: 'the database (AUTH_KEY_STORE=database)',
    generation: () => rows.generation(),
    async read() {
      const { generation, rows: stored } = await rows.read();
      if (generation === 0 || !stored.length) return { empty: true };
      const keys: SigningKeyRecord[] = [];
      for (const row of stored) {
        let jwk: SigningJwk;
        try {
          jwk = JSON.parse(await openSecret(encryption, row.sealedJwk, contextOf(row.kid))) as SigningJwk;
        } catch (error) {
          if (!(error instanceof SealedSecretError)) throw error;
          throw new SigningKeyStoreError(
            `signing key ${row.kid} in the database cannot be opened (${error.message}): AUTH_ENCRYPTION_KEY must be ` +
              'the key the signing keys were stored with (a key being replaced goes in AUTH_ENCRYPTION_KEY_PREVIOUS)',
          );
        }
        if (jwk.kid !== row.kid) throw new SigningKeyStoreError(`signing key row ${row.kid} holds key ${jwk.kid}`);
        keys.push({
          jwk,
          state: row.state as SigningKeyState,
          createdAt: row.createdAt,
          activatedAt: row.activatedAt ?? undefined,
          retiringSince: row.retiringSince ?? undefined,
          removeAfter: row.removeAfter ?? undefined,
        });
      }
      return { set: { generation, keys } };
    },
    async write(expected, set) {
      const sealed = await Promise.all(
        set.keys.map(async (key) => ({
          kid: key.jwk.kid,
          alg: key.jwk.alg,
          state: key.state,
          createdAt: key.createdAt,
          activatedAt: key.activatedAt ?? null,
          retiringSince: key.retiringSince ?? null,
          removeAfter: key.removeAfter ?? null,
          sealedJwk: await sealSecret(encryption, JSON.stringify(key.jwk), contextOf(key.jwk.kid)),
        })),
      );
      return rows.replace(expected, set.generation, sealed);
    },
    async markMigrated() {
      const generation = await rows.generation();
      await rows.replace(generation, generation + 1, []);
    },
    async loadCookieKeys() {
      let sealed = await rows.cookieKeys();
      if (!sealed) {
        // Instances starting together each offer a secret; the first insert wins and all read it.
        await rows.putCookieKeys(await sealSecret(encryption, JSON.stringify([randomBytes(32).toString('base64url')]), COOKIE_CONTEXT), {
          replace: false,
        });
        sealed = (await rows.cookieKeys())!;
      }
      try {
        return JSON.parse(await openSecret(encryption, sealed, COOKIE_CONTEXT)) as string[];
      } catch (error) {
        if (!(error instanceof SealedSecretError)) throw error;
        throw new SigningKeyStoreError(
          `the cookie keys in the database cannot be opened (${error.message}): AUTH_ENCRYPTION_KEY must be the key they were stored with`,
        );
      }
    },
    async writeCookieKeys(keys) {
      await rows.putCookieKeys(await sealSecret(encryption, JSON.stringify(keys), COOKIE_CONTEXT), { replace: true });
    },
  };
}

const contextOf = (kid: string) => `signing-key:${kid}`;
const COOKIE_CONTEXT = 'cookie-keys';

async function readKeyFile(path: string): Promise<KeyFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const file = JSON.parse(text) as KeyFile;
    if (!Array.isArray(file.keys)) throw new Error('no keys');
    return file;
  } catch {
    throw new SigningKeyStoreError(`${path} is not a key file; restore it from a backup or remove it to generate new keys`);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** A lock older than this was left by a crashed writer (a write takes milliseconds). */
const STALE_LOCK_MS = 10_000;

async function withLock<T>(lockPath: string, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 2 * STALE_LOCK_MS;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = await stat(lockPath).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > STALE_LOCK_MS) await unlink(lockPath).catch(() => undefined);
      else if (Date.now() > deadline) throw new SigningKeyStoreError(`${lockPath} is held by another writer`);
      else await sleep(20);
    }
  }
  try {
    return await work();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}
