import { Writable } from 'node:stream';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClientsCli } from '../cli/clients.ts';
import { runTokensCli } from '../cli/tokens.ts';
import { runUsersCli } from '../cli/users.ts';
import {
  addUser,
  loginAndGetTokens,
  postForm,
  registerPublicClient,
  RESOURCE,
  startAuthServer,
  type TestAuthServer,
} from '../testing/harness.ts';
import { Readable } from 'node:stream';

const RS_ID = 'test-resource-server';
const RS_SECRET = 'rs-secret-for-tests-0123456789abcdef';
const RS_BASIC = `Basic ${Buffer.from(`${RS_ID}:${RS_SECRET}`).toString('base64')}`;

let server: TestAuthServer;
let cliEnv: Record<string, string>;
let machine: { client_id: string; client_secret: string };

function sink() {
  let text = '';
  return {
    stream: new Writable({
      write(chunk, _enc, done) {
        text += String(chunk);
        done();
      },
    }),
    text: () => text,
  };
}

async function cli(run: 'users' | 'clients' | 'tokens', argv: string[]) {
  const stdout = sink();
  const stderr = sink();
  const io = { stdout: stdout.stream, stderr: stderr.stream, env: cliEnv };
  const code =
    run === 'users'
      ? await runUsersCli(argv, { ...io, stdin: Readable.from(['']) })
      : run === 'clients'
        ? await runClientsCli(argv, io)
        : await runTokensCli(argv, io);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

async function feed(since?: number, authorization = RS_BASIC) {
  const response = await fetch(`${server.url}/revocations${since === undefined ? '' : `?since=${since}`}`, { headers: { authorization } });
  return {
    status: response.status,
    body: (await response.json()) as { entries: { type: string; id: string; at: number; until: number }[]; cursor: number },
  };
}

async function introspect(token: string, authorization = RS_BASIC) {
  const response = await postForm(`${server.url}/token/introspection`, { token }, { authorization });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

beforeAll(async () => {
  server = await startAuthServer({ RS_CLIENT_ID: RS_ID, RS_CLIENT_SECRET: RS_SECRET, AUTH_PAT_MAX_DAYS: '60' });
  cliEnv = {
    NODE_ENV: 'test',
    DATA_DIR: server.config.dataDir,
    KEYS_DIR: server.config.keysDir,
    AUTH_ISSUER: server.url,
    RS_RESOURCE_URL: RESOURCE,
    AUTH_PAT_MAX_DAYS: '60',
  };
  await addUser(server, 'alice');
  await addUser(server, 'root', ['admin'], 'a much longer admin password here');
  const added = await cli('clients', [
    'add',
    '--name',
    'nightly',
    '--grant',
    'client_credentials',
    '--secret',
    '--scope',
    'mcp:tools',
    '--json',
  ]);
  expect(added.code).toBe(0);
  machine = JSON.parse(added.stdout) as typeof machine;
});
afterAll(() => server?.close());

describe('the revocation feed', () => {
  it('is read only by a resource server: 401 without or with wrong credentials, 403 for another client', async () => {
    const none = await fetch(`${server.url}/revocations`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect((await feed(undefined, `Basic ${Buffer.from(`${RS_ID}:wrong-secret`).toString('base64')}`)).status).toBe(401);
    expect((await feed(undefined, `Basic ${Buffer.from('nobody:x').toString('base64')}`)).status).toBe(401);
    expect((await feed(undefined, 'Basic %%%')).status).toBe(401);
    const other = await feed(undefined, `Basic ${Buffer.from(`${machine.client_id}:${machine.client_secret}`).toString('base64')}`);
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({ error: 'unauthorized_client' });
    const ok = await feed();
    expect(ok.status).toBe(200);
    expect(ok.body.entries).toEqual(expect.any(Array));
    expect(typeof ok.body.cursor).toBe('number');
  });

  it('refuses a since that is not a cursor (400)', async () => {
    for (const since of ['abc', '-1', '1e9', '']) {
      const response = await fetch(`${server.url}/revocations?since=${since}`, { headers: { authorization: RS_BASIC } });
      expect(response.status, since).toBe(400);
    }
  });

  it('access tokens carry their grant_id, and revoking the refresh token at /token/revocation feeds that grant', async () => {
    const client = await registerPublicClient(server);
    const { tokens } = await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
    const grantId = claims(tokens.access_token).grant_id;
    expect(grantId).toEqual(expect.any(String));
    const before = await feed();
    expect(before.body.entries.some((e) => e.id === grantId)).toBe(false);
    const revoked = await postForm(`${server.url}/token/revocation`, { token: tokens.refresh_token!, client_id: client.client_id });
    expect(revoked.status).toBe(200);
    const after = await feed(before.body.cursor);
    const entry = after.body.entries.find((e) => e.type === 'grant' && e.id === grantId);
    expect(entry).toBeDefined();
    // Kept until every access token of the grant has expired: the 600 s lifetime plus a margin.
    expect(entry!.until - entry!.at).toBeGreaterThanOrEqual(600_000);
  });

  it('npm run users -- disable feeds the account, npm run clients -- disable the client; enable leaves the entries', async () => {
    const bob = await addUser(server, 'bob');
    const { cursor } = (await feed()).body;
    expect((await cli('users', ['disable', 'bob'])).code).toBe(0);
    expect((await cli('clients', ['disable', machine.client_id])).code).toBe(0);
    const entries = (await feed(cursor)).body.entries;
    expect(entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'account', id: bob.id }),
        expect.objectContaining({ type: 'client', id: machine.client_id }),
      ]),
    );
    expect((await cli('clients', ['enable', machine.client_id])).code).toBe(0);
    expect((await cli('users', ['enable', 'bob'])).code).toBe(0);
    expect((await feed(0)).body.entries.filter((e) => e.id === bob.id || e.id === machine.client_id)).toHaveLength(2);
  });
});

describe('deleting a client', () => {
  it('by RFC 7592 (DELETE /reg/:id) or npm run clients -- remove feeds it', async () => {
    const registered = await registerPublicClient(server);
    const operator = JSON.parse(
      (await cli('clients', ['add', '--name', 'gone', '--grant', 'client_credentials', '--secret', '--scope', 'mcp:tools', '--json']))
        .stdout,
    ) as { client_id: string };
    const { cursor } = (await feed()).body;
    const deleted = await fetch(registered.registration_client_uri, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${registered.registration_access_token}` },
    });
    expect(deleted.status).toBe(204);
    expect((await cli('clients', ['remove', operator.client_id])).code).toBe(0);
    expect((await feed(cursor)).body.entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'client', id: registered.client_id }),
        expect.objectContaining({ type: 'client', id: operator.client_id }),
      ]),
    );
  });
});

describe('personal access tokens', () => {
  it('create prints the token alone on the last line of stdout; only its SHA-256 is stored; list shows it with its last use', async () => {
    const created = await cli('tokens', ['create', '--user', 'alice', '--name', 'ci', '--scope', 'mcp:tools', '--expires', '7d']);
    expect(created.code).toBe(0);
    const lines = created.stdout.trimEnd().split('\n');
    const token = lines.at(-1)!;
    expect(token).toMatch(/^mcp_pat_[A-Za-z0-9_-]{43}$/);
    const db = new DatabaseSync(join(server.config.dataDir, 'auth.db'), { readOnly: true });
    try {
      const dump = JSON.stringify(db.prepare('SELECT * FROM personal_access_tokens').all());
      expect(dump).not.toContain(token);
      expect(dump).not.toContain(token.slice('mcp_pat_'.length));
    } finally {
      db.close();
    }
    let listed = await cli('tokens', ['list', '--user', 'alice']);
    expect(listed.stdout).toMatch(/alice\s+ci\s+mcp:tools\s+\S+\s+never\s+cli/);
    expect(listed.stdout).not.toContain(token);

    const answer = await introspect(token);
    expect(answer.body).toMatchObject({
      active: true,
      sub: (await server.storage.accounts.findByUsername('alice'))!.id,
      scope: 'mcp:tools',
      aud: RESOURCE,
    });
    expect(String(answer.body.client_id)).toMatch(/^pat:/);
    listed = await cli('tokens', ['list']);
    expect(listed.stdout).not.toMatch(/alice\s+ci\s+mcp:tools\s+\S+\s+never/);

    expect((await cli('tokens', ['create', '--user', 'alice', '--name', 'ci', '--scope', 'mcp:tools'])).code).toBe(1);
  });

  it('only a resource server learns about a PAT: another client, or no credentials, gets nothing', async () => {
    const { stdout } = await cli('tokens', ['create', '--user', 'alice', '--name', 'quiet', '--scope', 'mcp:tools']);
    const token = stdout.trimEnd().split('\n').at(-1)!;
    await cli('clients', ['enable', machine.client_id]);
    const other = await introspect(token, `Basic ${Buffer.from(`${machine.client_id}:${machine.client_secret}`).toString('base64')}`);
    expect(other.body).toEqual({ active: false });
    const anonymous = await introspect(token, '');
    expect(anonymous.body.active).not.toBe(true);
  });

  it('a wrong, revoked or expired PAT, or one of a disabled user, is inactive; revoking feeds it', async () => {
    expect((await introspect('mcp_pat_wrong0000000000000000000000000000000000000')).body).toEqual({ active: false });
    const { stdout } = await cli('tokens', ['create', '--user', 'alice', '--name', 'short', '--scope', 'mcp:tools', '--expires', '1h']);
    const token = stdout.trimEnd().split('\n').at(-1)!;
    const id = String((await introspect(token)).body.pat_id);
    const { cursor } = (await feed()).body;
    expect((await cli('tokens', ['revoke', '--user', 'alice', '--name', 'short'])).code).toBe(0);
    expect((await introspect(token)).body).toEqual({ active: false });
    expect((await feed(cursor)).body.entries).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'pat', id })]));
    expect((await cli('tokens', ['revoke', '--user', 'alice', '--name', 'short'])).code).toBe(1);

    // Expired: its stored expiry moved into the past.
    const old = (await cli('tokens', ['create', '--user', 'alice', '--name', 'old', '--scope', 'mcp:tools'])).stdout
      .trimEnd()
      .split('\n')
      .at(-1)!;
    expect((await introspect(old)).body.active).toBe(true);
    const db = new DatabaseSync(join(server.config.dataDir, 'auth.db'));
    try {
      db.prepare("UPDATE personal_access_tokens SET expires_at = ? WHERE name = 'old'").run(Date.now() - 1);
    } finally {
      db.close();
    }
    expect((await introspect(old)).body).toEqual({ active: false });

    await addUser(server, 'carol');
    const carol = (await cli('tokens', ['create', '--user', 'carol', '--name', 'x', '--scope', 'mcp:tools'])).stdout
      .trimEnd()
      .split('\n')
      .at(-1)!;
    expect((await introspect(carol)).body.active).toBe(true);
    const carolPatId = String((await introspect(carol)).body.pat_id);
    const { cursor: beforeDisable } = (await feed()).body;
    expect((await cli('users', ['disable', 'carol'])).code).toBe(0);
    expect((await introspect(carol)).body).toEqual({ active: false });
    // Disabling revoked it for good: enabling the account again does not bring it back.
    expect((await feed(beforeDisable)).body.entries).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'pat', id: carolPatId })]),
    );
    expect((await cli('users', ['enable', 'carol'])).code).toBe(0);
    expect((await introspect(carol)).body).toEqual({ active: false });
    expect((await cli('tokens', ['list', '--user', 'carol'])).stdout).toBe('no personal access tokens\n');
  });

  it('refuses a scope beyond the user (admin scopes without the admin role, unknown scopes), a bad resource and an expiry past AUTH_PAT_MAX_DAYS', async () => {
    const refused = async (args: string[], pattern: RegExp) => {
      const result = await cli('tokens', ['create', ...args]);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toMatch(pattern);
      expect(result.stdout).toBe('');
    };
    await refused(['--user', 'alice', '--name', 'a1', '--scope', 'mcp:tools mcp:admin'], /admin role/);
    await refused(['--user', 'alice', '--name', 'a2', '--scope', 'openid'], /not offered/);
    await refused(
      ['--user', 'alice', '--name', 'a3', '--scope', 'mcp:tools', '--resource', 'https://elsewhere.example/mcp'],
      /unknown resource/,
    );
    await refused(['--user', 'alice', '--name', 'a4', '--scope', 'mcp:tools', '--expires', '61d'], /at most 60 days/);
    await refused(['--user', 'nobody', '--name', 'a5', '--scope', 'mcp:tools'], /no account/);
    const admin = await cli('tokens', ['create', '--user', 'root', '--name', 'ops', '--scope', 'mcp:tools mcp:admin', '--expires', '60d']);
    expect(admin.code).toBe(0);
    expect((await cli('tokens', ['create', '--user', 'alice', '--scope', 'x'])).code).toBe(2);
    expect((await cli('tokens', ['create', '--user', 'alice', '--name', 'n', '--scope', 'mcp:tools', '--expires', 'soon'])).code).toBe(2);
    expect((await cli('tokens', ['frobnicate'])).code).toBe(2);
  });
});
