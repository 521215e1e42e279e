import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/config-error.ts';
import { loadConfig } from '../config.ts';
import { openPostgresStorage } from '../storage/postgres-store.ts';
import { openSqliteStorage } from '../storage/sqlite-store.ts';
import type { Storage } from '../storage/store.ts';
import { createTestSchema } from '../testing/postgres.ts';
import { COOKIE_KEYS_FILE, generateSigningKey, JWKS_FILE } from './key-store.ts';
import { RotationTooSoonError } from './signing-key-set.ts';
import { MIGRATED_FILE, SigningKeyStoreError } from './signing-key-store.ts';
import { listSigningKeys, loadSigningKeys, migrateSigningKeys, openSigningKeys, rotateSigningKeys } from './signing-keys.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const T0 = new Date('2030-01-01T00:00:00Z');
const byKid = (keys: { jwk: { kid: string } }[]) => [...keys].sort((a, b) => a.jwk.kid.localeCompare(b.jwk.kid));
const encryptionKey = () => randomBytes(32).toString('base64');

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'signing-keys-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function configFor(dir: string, env: Record<string, string> = {}) {
  return loadConfig({ NODE_ENV: 'test', KEYS_DIR: join(dir, 'keys'), DATA_DIR: join(dir, 'data'), AUTH_KEY_MIN_NEXT_AGE: '60', ...env });
}

const stores: Record<string, (dir: string) => Promise<Storage>> = {
  SQLite: async (dir) => openSqliteStorage(join(dir, 'data')),
  PostgreSQL: async () => {
    const schema = await createTestSchema();
    cleanups.push(() => schema.drop());
    return openPostgresStorage(schema.url, { poolSize: 2 });
  },
};

async function open(kind: string, dir: string): Promise<Storage> {
  const storage = await stores[kind]!(dir);
  cleanups.push(() => storage.close());
  return storage;
}

describe('file key store (AUTH_KEY_STORE=file, the default)', () => {
  it('several instances starting at once on an empty KEYS_DIR agree on one key set, in a file with mode 0600', async () => {
    const dir = await tempDir();
    const config = configFor(dir);
    const sets = await Promise.all(Array.from({ length: 6 }, async () => loadSigningKeys(await openSigningKeys(config, undefined))));
    for (const set of sets) expect(set).toEqual(sets[0]);
    expect((await stat(join(config.keysDir, JWKS_FILE))).mode & 0o777).toBe(0o600);
  });

  it('upgrades the key file of before key states in place: the key that signed keeps signing', async () => {
    const dir = await tempDir();
    const config = configFor(dir);
    const legacy = [await generateSigningKey('ES256'), await generateSigningKey('RS256'), await generateSigningKey('ES256')];
    await mkdir(config.keysDir, { recursive: true });
    await writeFile(join(config.keysDir, JWKS_FILE), JSON.stringify({ keys: legacy, added: {} }));
    const keys = await openSigningKeys(config, undefined, () => T0);
    const listed = await listSigningKeys(keys);
    expect(listed.find((k) => k.kid === legacy[0]!.kid)!.state).toBe('active');
    expect(listed.find((k) => k.kid === legacy[2]!.kid)!.state).toBe('retiring');
    expect(listed.filter((k) => k.state === 'next')).toHaveLength(2);
    const file = JSON.parse(await readFile(join(config.keysDir, JWKS_FILE), 'utf8')) as { format: number };
    expect(file.format).toBe(2);
  });

  it('rotate is refused while the next keys are younger than AUTH_KEY_MIN_NEXT_AGE, and list says when each state ends', async () => {
    const dir = await tempDir();
    let clock = T0;
    const keys = await openSigningKeys(configFor(dir), undefined, () => clock);
    const before = await listSigningKeys(keys);
    const next = before.find((k) => k.alg === 'ES256' && k.state === 'next')!;
    expect(next.until).toBe('2030-01-01T00:01:00.000Z');
    clock = new Date('2030-01-01T00:00:59Z');
    await expect(rotateSigningKeys(keys, { actor: 'test' })).rejects.toThrow(RotationTooSoonError);
    clock = new Date('2030-01-01T00:01:00Z');
    const result = await rotateSigningKeys(keys, { actor: 'test' });
    expect(result.activated).toContain(next.kid);
    expect(result.actor).toBe('test');
    const after = await listSigningKeys(keys);
    expect(after.find((k) => k.kid === next.kid)!.state).toBe('active');
    const retiring = after.find((k) => k.alg === 'ES256' && k.state === 'retiring')!;
    // AUTH_ACCESS_TOKEN_TTL 600 < ID tokens' 3600: + poll interval 5 s + 60 s clock tolerance.
    expect(retiring.until).toBe(new Date(clock.getTime() + (3600 + 5 + 60) * 1000).toISOString());
  });
});

for (const kind of Object.keys(stores)) {
  describe(`database key store on ${kind} (AUTH_KEY_STORE=database)`, () => {
    it('keeps each private key sealed with AUTH_ENCRYPTION_KEY: no private parameter in any row', async () => {
      const dir = await tempDir();
      const storage = await open(kind, dir);
      const keys = await openSigningKeys(configFor(dir, { AUTH_KEY_STORE: 'database', AUTH_ENCRYPTION_KEY: encryptionKey() }), storage);
      const set = await loadSigningKeys(keys);
      const { rows } = await storage.signingKeys.read();
      expect(rows).toHaveLength(4);
      for (const row of rows) {
        const jwk = set.keys.find((k) => k.jwk.kid === row.kid)!.jwk;
        expect(row.sealedJwk).not.toContain(jwk.d);
        expect(row.sealedJwk).not.toContain('"d"');
        expect(row.sealedJwk.split('.')).toHaveLength(5); // a compact JWE
      }
      // Read back whole, and nothing on disk.
      expect(byKid((await loadSigningKeys(keys)).keys)).toEqual(byKid(set.keys));
      await expect(stat(join(dir, 'keys', JWKS_FILE))).rejects.toThrow();
    });

    it('keeps the cookie keys sealed there too: instances starting at once get the same ones, none on disk', async () => {
      const dir = await tempDir();
      const storage = await open(kind, dir);
      const config = configFor(dir, { AUTH_KEY_STORE: 'database', AUTH_ENCRYPTION_KEY: encryptionKey() });
      const all = await Promise.all(Array.from({ length: 4 }, async () => (await openSigningKeys(config, storage)).store.loadCookieKeys()));
      for (const keys of all) expect(keys).toEqual(all[0]);
      const sealed = await storage.signingKeys.cookieKeys();
      expect(sealed).not.toContain(all[0]![0]);
      await expect(stat(join(dir, 'keys', COOKIE_KEYS_FILE))).rejects.toThrow();
    });

    it('a wrong AUTH_ENCRYPTION_KEY stops the start with a message naming it', async () => {
      const dir = await tempDir();
      const storage = await open(kind, dir);
      await loadSigningKeys(await openSigningKeys(configFor(dir, { AUTH_KEY_STORE: 'database', AUTH_ENCRYPTION_KEY: encryptionKey() }), storage));
      const wrong = await openSigningKeys(configFor(dir, { AUTH_KEY_STORE: 'database', AUTH_ENCRYPTION_KEY: encryptionKey() }), storage);
      await expect(loadSigningKeys(wrong)).rejects.toThrow(SigningKeyStoreError);
      await expect(loadSigningKeys(wrong)).rejects.toThrow(/cannot be opened .*AUTH_ENCRYPTION_KEY must be the key the signing keys were stored with/);
      // A malformed key is a configuration error, before any read.
      await expect(openSigningKeys(configFor(dir, { AUTH_KEY_STORE: 'database', AUTH_ENCRYPTION_KEY: 'c2hvcnQ=' }), storage)).rejects.toThrow(
        ConfigError,
      );
    });

    it('migrates file → database → file with the same keys; the source is marked so a server still reading it refuses to start', async () => {
      const dir = await tempDir();
      const storage = await open(kind, dir);
      const env = { AUTH_ENCRYPTION_KEY: encryptionKey() };
      const file = await openSigningKeys(configFor(dir, env), storage);
      const database = await openSigningKeys(configFor(dir, { ...env, AUTH_KEY_STORE: 'database' }), storage);
      const original = await loadSigningKeys(file);

      // Database mode on an empty database while the file has keys: refused, not a silent new key set.
      await expect(loadSigningKeys(database)).rejects.toThrow(/npm run keys -- migrate --to database/);

      const cookieKeys = await file.store.loadCookieKeys();
      await migrateSigningKeys(file, database);
      expect(byKid((await loadSigningKeys(database)).keys)).toEqual(byKid(original.keys));
      expect(await database.store.loadCookieKeys()).toEqual(cookieKeys);
      await expect(stat(join(dir, 'keys', MIGRATED_FILE))).resolves.toBeTruthy();
      await expect(loadSigningKeys(file)).rejects.toThrow(/were migrated to the database: set AUTH_KEY_STORE=database/);
      // Refused when the target already holds keys.
      await expect(migrateSigningKeys(database, database)).rejects.toThrow(/already holds signing keys/);

      await migrateSigningKeys(database, file);
      expect(byKid((await loadSigningKeys(file)).keys)).toEqual(byKid(original.keys));
      expect((await storage.signingKeys.read()).rows).toEqual([]);
      await expect(stat(join(dir, 'keys', MIGRATED_FILE))).rejects.toThrow();
    });
  });
}
