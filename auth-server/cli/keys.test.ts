import { PassThrough } from 'node:stream';
import { decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { listSigningKeys } from '../keys/signing-keys.ts';
import { addUser, loginAndGetTokens, registerPublicClient, startAuthServer, type TestAuthServer } from '../testing/harness.ts';
import { runKeysCli } from './keys.ts';

const servers: TestAuthServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function keys(args: string[], server: TestAuthServer, env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk) => (text += chunk));
  const code = await runKeysCli(
    args,
    { NODE_ENV: 'test', KEYS_DIR: server.config.keysDir, DATA_DIR: server.config.dataDir, ...env },
    out as unknown as typeof process.stdout,
    out as unknown as typeof process.stderr,
  );
  return { code, out: text };
}

/** The kid that signs a fresh access token from `server` right now. */
async function signingKid(server: TestAuthServer): Promise<string> {
  if (!(await server.storage.accounts.findByUsername('alice'))) await addUser(server);
  const client = await registerPublicClient(server);
  const { tokens } = await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
  return decodeProtectedHeader(tokens.access_token).kid!;
}

const published = async (server: TestAuthServer) =>
  ((await (await fetch(`${server.url}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);

describe('npm run keys', () => {
  it('list: the active key signs, the next key is published and says from when a rotation may activate it', async () => {
    const server = await startAuthServer();
    servers.push(server);
    const { code, out } = await keys(['list'], server);
    expect(code).toBe(0);
    const listed = await listSigningKeys(server.signingKeys);
    const active = listed.find((k) => k.alg === 'ES256' && k.state === 'active')!;
    const next = listed.find((k) => k.alg === 'ES256' && k.state === 'next')!;
    expect(out).toContain('every running auth server follows this set within 5 s');
    expect(out).toContain(`ES256 (access tokens)\n  ${next.kid}  next: published, signs after the next rotation (possible from `);
    expect(out).toMatch(new RegExp(`  ${active.kid}  active: signs \\(since `));
    expect(await signingKid(server)).toBe(active.kid);
    expect(await published(server)).toEqual(expect.arrayContaining([active.kid, next.kid]));
  });

  it('rotate: refused while the next key is too new; then the running server signs with it, no restart', async () => {
    const server = await startAuthServer();
    servers.push(server);
    const tooSoon = await keys(['rotate'], server);
    expect(tooSoon.code).toBe(1);
    expect(tooSoon.out).toMatch(/the next signing key was published \d+ s ago; it must be published for 120 s/);

    const before = await listSigningKeys(server.signingKeys);
    const next = before.find((k) => k.alg === 'ES256' && k.state === 'next')!;
    const active = before.find((k) => k.alg === 'ES256' && k.state === 'active')!;
    const { code, out } = await keys(['rotate'], server, { AUTH_KEY_MIN_NEXT_AGE: '0' });
    expect(code).toBe(0);
    expect(out).toContain(`signing now: ${next.kid}`);
    expect(out).toContain('Every running auth server signs with the new keys within 5 s (AUTH_KEY_POLL_SECONDS); no restart.');
    // What the poll does every AUTH_KEY_POLL_SECONDS, done now.
    expect(await server.live.refresh()).toBe(true);
    expect(await signingKid(server)).toBe(next.kid);
    const after = await listSigningKeys(server.signingKeys);
    const fresh = after.find((k) => k.alg === 'ES256' && k.state === 'next')!;
    expect(await published(server)).toEqual(expect.arrayContaining([next.kid, active.kid, fresh.kid]));
    const { out: list } = await keys(['list'], server);
    expect(list).toMatch(new RegExp(`  ${active.kid}  retiring: no longer signs, published until .* UTC, then removed`));
  });

  it('migrate --to database moves the keys; the server reads them there after a restart with AUTH_KEY_STORE=database', async () => {
    const server = await startAuthServer();
    servers.push(server);
    const kid = await signingKid(server);
    const env = { AUTH_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') };
    await server.stop();
    const moved = await keys(['migrate', '--to', 'database'], server, env);
    expect(moved.code).toBe(0);
    expect(moved.out).toContain('copied 4 signing keys to the database');
    const again = await keys(['migrate', '--to', 'database'], server, { ...env, AUTH_KEY_STORE: 'database' });
    expect(again.code).toBe(2);
    servers.pop();
    const restarted = await startAuthServer(
      { AUTH_PORT: String(server.config.port), AUTH_KEY_STORE: 'database', ...env },
      { dir: server.dir },
    );
    servers.push(restarted);
    expect(await signingKid(restarted)).toBe(kid);
    const { out } = await keys(['list'], restarted, { ...env, AUTH_KEY_STORE: 'database' });
    expect(out).toContain('Signing keys in the database');
    expect(out).toContain(`  ${kid}  active: signs`);
  });

  it('refuses an unknown command and migrate without a target', async () => {
    const server = await startAuthServer();
    servers.push(server);
    expect((await keys(['nope'], server)).code).toBe(2);
    expect((await keys(['migrate'], server)).out).toContain('migrate needs --to database or --to file');
  });
});
