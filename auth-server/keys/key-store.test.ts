import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COOKIE_KEYS_FILE, loadOrCreateCookieKeys } from './key-store.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keys-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('cookie keys', () => {
  it('are generated once, in a file with mode 0600', async () => {
    const first = await loadOrCreateCookieKeys(dir);
    expect(first).toHaveLength(1);
    expect((await stat(join(dir, COOKIE_KEYS_FILE))).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateCookieKeys(dir)).toEqual(first);
  });

  it('are the same for every instance when several start at once on an empty folder', async () => {
    const all = await Promise.all(Array.from({ length: 6 }, () => loadOrCreateCookieKeys(dir)));
    for (const keys of all) expect(keys).toEqual(all[0]);
  });
});
