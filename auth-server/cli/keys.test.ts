import { PassThrough } from 'node:stream';
import { decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { listKeys, rotateKeys } from '../keys/key-store.ts';
import { addUser, loginAndGetTokens, registerPublicClient, startAuthServer, type TestAuthServer } from '../testing/harness.ts';
import { runKeysCli } from './keys.ts';

const servers: TestAuthServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function keys(args: string[], keysDir: string): Promise<{ code: number; out: string }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk) => (text += chunk));
  const code = await runKeysCli(
    args,
    { KEYS_DIR: keysDir },
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

describe('npm run keys -- list', () => {
  it('before any rotation, each algorithm has one key and it signs', async () => {
    const server = await startAuthServer();
    servers.push(server);
    const { code, out } = await keys(['list'], server.config.keysDir);
    expect(code).toBe(0);
    const [es256] = (await listKeys(server.config.keysDir)).filter((k) => k.alg === 'ES256');
    expect(out).toContain(`ES256 (access tokens)\n  ${es256!.kid}  signs\n`);
    expect(await signingKid(server)).toBe(es256!.kid);
  });

  it('after a rotation, does not call the new key in use: it signs after the next restart, and the running server still signs with the previous one', async () => {
    const server = await startAuthServer();
    servers.push(server);
    const [previous] = (await listKeys(server.config.keysDir)).filter((k) => k.alg === 'ES256');
    const [rotated] = await rotateKeys(server.config.keysDir, new Date('2030-01-02T03:04:05Z'));

    const { out } = await keys(['list'], server.config.keysDir);
    expect(out).toContain(
      `  ${rotated}  newest: signs after the next restart, unless the server restarted since 2030-01-02 03:04:05 UTC\n`,
    );
    expect(out).toContain(
      `  ${previous!.kid}  signs on a server started before 2030-01-02 03:04:05 UTC; published so its tokens keep verifying\n`,
    );
    expect(out).not.toMatch(/^\*/m);
    // What the list says, the running server does: it signs with the key it loaded at its start.
    expect(await signingKid(server)).toBe(previous!.kid);
  });

  it('after two rotations, the middle key signs only for servers started between the two', async () => {
    const server = await startAuthServer();
    servers.push(server);
    const [original] = (await listKeys(server.config.keysDir)).filter((k) => k.alg === 'ES256');
    const [first] = await rotateKeys(server.config.keysDir, new Date('2030-01-01T00:00:00Z'));
    const [second] = await rotateKeys(server.config.keysDir, new Date('2030-02-01T00:00:00Z'));
    const { out } = await keys(['list'], server.config.keysDir);
    const es256 = out.slice(out.indexOf('ES256'), out.indexOf('RS256'));
    expect(es256.split('\n').filter((l) => l.startsWith('  '))).toEqual([
      `  ${second}  newest: signs after the next restart, unless the server restarted since 2030-02-01 00:00:00 UTC`,
      `  ${first}  signs on a server started after 2030-01-01 00:00:00 UTC and started before 2030-02-01 00:00:00 UTC; published so its tokens keep verifying`,
      `  ${original!.kid}  signs on a server started before 2030-01-01 00:00:00 UTC; published so its tokens keep verifying`,
    ]);
  });

  it('rotate says the new keys sign only after a restart', async () => {
    const server = await startAuthServer();
    servers.push(server);
    const { code, out } = await keys(['rotate'], server.config.keysDir);
    expect(code).toBe(0);
    expect(out).toContain(
      'They sign after the next restart of the auth server (every instance); until then it signs with the keys it started with.',
    );
  });
});
