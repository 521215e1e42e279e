import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENCRYPTION_KEY_FILE, EncryptionKeyError, loadEncryptionKeys, openSecret, sealSecret, SealedSecretError } from './secrets-at-rest.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'at-rest-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const base64Key = () => randomBytes(32).toString('base64');

describe('secrets at rest', () => {
  it('generates one key in KEYS_DIR outside production, mode 0600, the same for every start', async () => {
    const [a, b] = await Promise.all([
      loadEncryptionKeys({ key: undefined, keysDir: dir, production: false }),
      loadEncryptionKeys({ key: undefined, keysDir: dir, production: false }),
    ]);
    expect(a.current).toEqual(b.current);
    expect((await stat(join(dir, ENCRYPTION_KEY_FILE))).mode & 0o777).toBe(0o600);
  });

  it('refuses to start in production without AUTH_ENCRYPTION_KEY, and refuses a key that is not 32 bytes', async () => {
    await expect(loadEncryptionKeys({ key: undefined, keysDir: dir, production: true })).rejects.toThrow(/AUTH_ENCRYPTION_KEY is required/);
    await expect(loadEncryptionKeys({ key: 'c2hvcnQ=', keysDir: dir, production: true })).rejects.toBeInstanceOf(EncryptionKeyError);
    await expect(
      loadEncryptionKeys({ key: base64Key(), previous: ['nope'], keysDir: dir, production: true }),
    ).rejects.toThrow(/AUTH_ENCRYPTION_KEY_PREVIOUS \(entry 1\)/);
  });

  it('round-trips, and the ciphertext does not contain the plaintext', async () => {
    const keys = await loadEncryptionKeys({ key: base64Key(), keysDir: dir, production: true });
    const sealed = await sealSecret(keys, 'gho_secret-upstream-token', 'vault:a:github');
    expect(sealed).not.toContain('gho_secret');
    expect(await openSecret(keys, sealed, 'vault:a:github')).toBe('gho_secret-upstream-token');
  });

  it('refuses a value sealed for another context (a row copied into another row)', async () => {
    const keys = await loadEncryptionKeys({ key: base64Key(), keysDir: dir, production: true });
    const sealed = await sealSecret(keys, 'x', 'vault:alice:github');
    await expect(openSecret(keys, sealed, 'vault:mallory:github')).rejects.toBeInstanceOf(SealedSecretError);
  });

  it('refuses a tampered value and one sealed with an unknown key', async () => {
    const keys = await loadEncryptionKeys({ key: base64Key(), keysDir: dir, production: true });
    const sealed = await sealSecret(keys, 'x', 'c');
    const parts = sealed.split('.');
    parts[3] = `${parts[3]!.slice(0, -2)}${parts[3]!.endsWith('AA') ? 'BB' : 'AA'}`;
    await expect(openSecret(keys, parts.join('.'), 'c')).rejects.toBeInstanceOf(SealedSecretError);
    const other = await loadEncryptionKeys({ key: base64Key(), keysDir: dir, production: true });
    await expect(openSecret(other, sealed, 'c')).rejects.toThrow(/neither AUTH_ENCRYPTION_KEY/);
    await expect(openSecret(keys, 'garbage', 'c')).rejects.toBeInstanceOf(SealedSecretError);
  });

  it('rotation: a value sealed with the previous key still opens once that key is in AUTH_ENCRYPTION_KEY_PREVIOUS', async () => {
    const oldKey = base64Key();
    const before = await loadEncryptionKeys({ key: oldKey, keysDir: dir, production: true });
    const sealed = await sealSecret(before, 'x', 'c');
    const after = await loadEncryptionKeys({ key: base64Key(), previous: [oldKey], keysDir: dir, production: true });
    expect(await openSecret(after, sealed, 'c')).toBe('x');
    const resealed = await sealSecret(after, 'x', 'c');
    await expect(openSecret(before, resealed, 'c')).rejects.toBeInstanceOf(SealedSecretError);
  });
});
