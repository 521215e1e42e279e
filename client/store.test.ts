import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCacheDir, Store, type TokenRecord } from './store.ts';

const dir = async () => join(await mkdtemp(join(tmpdir(), 'store-')), 'mcp-oauth-stack');
const record = (n: number): TokenRecord => ({
  mcpUrl: 'http://localhost:3001/mcp',
  resource: 'http://localhost:3001/mcp',
  issuer: 'http://localhost:3000',
  client_id: 'c',
  access_token: `access-${n}-${'x'.repeat(5000)}`,
  token_type: 'bearer',
  refresh_token: `refresh-${n}`,
  grant: 'authorization_code',
});

describe('the token cache', () => {
  it('lives in $XDG_CONFIG_HOME/mcp-oauth-stack, else ~/.config/mcp-oauth-stack', () => {
    expect(defaultCacheDir({ XDG_CONFIG_HOME: '/x/cfg' })).toBe('/x/cfg/mcp-oauth-stack');
    expect(defaultCacheDir({ HOME: process.env.HOME })).toMatch(/\/\.config\/mcp-oauth-stack$/);
    // A relative XDG_CONFIG_HOME is invalid per the XDG spec and ignored.
    expect(defaultCacheDir({ XDG_CONFIG_HOME: 'relative' })).toMatch(/\/\.config\/mcp-oauth-stack$/);
  });

  it('creates its directories 0700 and every file 0600, and tightens a directory that was created wider', async () => {
    const base = await dir();
    await mkdir(base, { recursive: true, mode: 0o755 });
    const store = new Store(base);
    await store.saveTokens(record(1));
    await store.saveClient({ issuer: 'http://localhost:3000', client_id: 'c', token_endpoint_auth_method: 'none', kind: 'dcr' });
    expect((await stat(base)).mode & 0o777).toBe(0o700);
    for (const sub of ['tokens', 'clients']) {
      expect((await stat(join(base, sub))).mode & 0o777).toBe(0o700);
      for (const name of await readdir(join(base, sub))) expect((await stat(join(base, sub, name))).mode & 0o777).toBe(0o600);
    }
  });

  it('writes atomically: concurrent readers only ever see a whole record, and no temp file is left behind', async () => {
    const store = new Store(await dir());
    await store.saveTokens(record(0));
    const reads: (TokenRecord | undefined)[] = [];
    await Promise.all([
      ...Array.from({ length: 30 }, (_, n) => store.saveTokens(record(n + 1))),
      ...Array.from({ length: 30 }, async () => reads.push(await store.getTokens('http://localhost:3000', 'http://localhost:3001/mcp'))),
    ]);
    for (const read of reads) expect(read?.access_token).toMatch(/^access-\d+-x{5000}$/);
    expect(await readdir(join(store.dir, 'tokens'))).toHaveLength(1);
  });

  it('finds the sign-in for an MCP URL and forgets it', async () => {
    const store = new Store(await dir());
    await store.saveTokens(record(1));
    expect((await store.tokensFor('http://localhost:3001/mcp'))?.refresh_token).toBe('refresh-1');
    expect(await store.tokensFor('http://localhost:9999/mcp')).toBeUndefined();
    await store.forgetTokens('http://localhost:3000', 'http://localhost:3001/mcp');
    expect(await store.allTokens()).toEqual([]);
  });

  it('the lock admits one holder at a time, across Store instances on the same directory', async () => {
    const base = await dir();
    const [a, b] = [new Store(base), new Store(base)];
    let inside = 0;
    let most = 0;
    const hold = (s: Store) =>
      s.withLock('tokens', async () => {
        most = Math.max(most, ++inside);
        await new Promise((done) => setTimeout(done, 20));
        inside--;
      });
    await Promise.all([hold(a), hold(b), hold(a), hold(b)]);
    expect(most).toBe(1);
  });

  it('the lock admits one holder at a time across processes', async () => {
    const base = await dir();
    const log = join(base, '..', 'log');
    await writeFile(log, '');
    const script = `
      import { appendFile } from 'node:fs/promises';
      import { Store } from ${JSON.stringify(join(import.meta.dirname, 'store.ts'))};
      await new Store(${JSON.stringify(base)}).withLock('tokens', async () => {
        await appendFile(${JSON.stringify(log)}, 'in\\n');
        await new Promise((d) => setTimeout(d, 150));
        await appendFile(${JSON.stringify(log)}, 'out\\n');
      });`;
    const run = () =>
      new Promise<number | null>((done) =>
        spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' }).once('close', done),
      );
    expect(await Promise.all([run(), run(), run()])).toEqual([0, 0, 0]);
    expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual(['in', 'out', 'in', 'out', 'in', 'out']);
  });

  it('takes over a lock whose holder process is gone, and times out on a live one', async () => {
    const store = new Store(await dir());
    await store.withLock('x', async () => undefined); // creates the locks directory
    const [lockName] = await (async () => {
      let name = '';
      await store.withLock('x', async () => {
        name = (await readdir(join(store.dir, 'locks')))[0]!;
      });
      return [name];
    })();
    await writeFile(join(store.dir, 'locks', lockName), '999999999', { mode: 0o600 }); // no such pid
    expect(await store.withLock('x', async () => 'taken over', { timeoutMs: 2000 })).toBe('taken over');

    await writeFile(join(store.dir, 'locks', lockName), String(process.pid), { mode: 0o600 }); // alive: us
    await expect(store.withLock('x', async () => 'never', { timeoutMs: 300 })).rejects.toThrow(/holds the lock/);
  });
});
