import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { looksLikeAccountId } from '../accounts/new-account.ts';
import { loadConfig } from '../config.ts';
import { hashClientSecret } from '../provider/client-secret-hash.ts';
import { clientCheckingProvider, newClientId } from '../provider/operator-clients.ts';
import { TestBrowser } from '../testing/browser.ts';
import {
  addUser,
  loginAndGetTokens,
  pkcePair,
  RESOURCE,
  postForm,
  registerPublicClient,
  startAuthServer,
  type TestAuthServer,
} from '../testing/harness.ts';

const CLI = fileURLToPath(new URL('./clients.ts', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run clients -- …args` as a real process, against the server's DATA_DIR or DATABASE_URL. */
function clients(server: TestAuthServer, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, DATA_DIR: server.config.dataDir, DATABASE_URL: server.config.databaseUrl ?? '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The names of the files under `dir` that hold `text` (grep in a child process). */
function filesHolding(dir: string, text: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('grep', ['-rlF', '--binary-files=text', '--', text, '.'], { cwd: dir }, (error, stdout) => {
      // grep: 0 found, 1 found nothing, 2 trouble.
      if (error && error.code !== 1) reject(error);
      else
        resolve(
          stdout
            .split('\n')
            .filter(Boolean)
            .map((path) => path.replace(/^\.\//, '')),
        );
    });
  });
}

interface Created {
  client_id: string;
  client_secret?: string;
  [key: string]: unknown;
}

async function add(server: TestAuthServer, args: string[]): Promise<Created> {
  const run = await clients(server, ['add', ...args, '--json']);
  expect(run.code, run.stderr).toBe(0);
  // stdout is the client as JSON and nothing else.
  return JSON.parse(run.stdout) as Created;
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

function clientCredentials(server: TestAuthServer, form: Record<string, string>, headers: Record<string, string> = {}) {
  return postForm(`${server.url}/token`, { grant_type: 'client_credentials', scope: 'mcp:tools', ...form }, headers);
}

async function assertion(server: TestAuthServer, clientId: string, key: CryptoKey, kid: string): Promise<Record<string, string>> {
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(server.url)
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime('1m')
    .sign(key);
  return { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt };
}

describe('npm run clients (SQLite, against a running auth server)', () => {
  let server: TestAuthServer;
  beforeAll(async () => {
    server = await startAuthServer();
    await addUser(server);
  });
  afterAll(() => server?.close());

  it('adds a client_credentials client with a secret that works at /token; a wrong secret is refused', async () => {
    const client = await add(server, [
      '--name',
      'nightly report',
      '--grant',
      'client_credentials',
      '--secret',
      '--scope',
      'mcp:tools',
      '--role',
      'reporter',
    ]);
    expect(client).toMatchObject({
      client_id: expect.stringMatching(/^mc_/),
      client_secret: expect.any(String),
      token_endpoint_auth_method: 'client_secret_basic',
    });
    const ok = await clientCredentials(server, {}, { authorization: basic(client.client_id, client.client_secret!) });
    expect(ok.status).toBe(200);
    const token = claims(((await ok.json()) as { access_token: string }).access_token);
    expect(token).toMatchObject({ sub: client.client_id, client_id: client.client_id, scope: 'mcp:tools', roles: ['reporter'] });
    const wrong = await clientCredentials(server, {}, { authorization: basic(client.client_id, 'wrong') });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('adds a client_secret_post client with --secret-post', async () => {
    const client = await add(server, ['--name', 'poster', '--grant', 'client_credentials', '--secret-post', '--scope', 'mcp:tools']);
    const ok = await clientCredentials(server, { client_id: client.client_id, client_secret: client.client_secret! });
    expect(ok.status).toBe(200);
  });

  it('adds a private_key_jwt client from a public JWKS file: an assertion signed with the matching key works, another key is refused', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const file = join(server.dir, 'machine-jwks.json');
    await writeFile(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }));
    const client = await add(server, ['--name', 'signer', '--grant', 'client_credentials', '--jwks-file', file, '--scope', 'mcp:tools']);
    expect(client.client_secret).toBeUndefined();
    expect(client.token_endpoint_auth_method).toBe('private_key_jwt');
    const ok = await clientCredentials(server, await assertion(server, client.client_id, privateKey, 'k1'));
    expect(ok.status, JSON.stringify(await ok.clone().json())).toBe(200);
    expect(claims(((await ok.json()) as { access_token: string }).access_token).sub).toBe(client.client_id);
    const other = await generateKeyPair('ES256');
    const refused = await clientCredentials(server, await assertion(server, client.client_id, other.privateKey, 'k1'));
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('adds a private_key_jwt client with --auth private_key_jwt --jwks-file and repeatable --grant', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const file = join(server.dir, 'auth-flag-jwks.json');
    await writeFile(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k2', alg: 'ES256', use: 'sig' }] }));
    const client = await add(server, [
      '--name',
      'hybrid',
      '--grant',
      'client_credentials',
      '--grant',
      'authorization_code',
      '--grant',
      'refresh_token',
      '--redirect-uri',
      'https://app.example/callback',
      '--auth',
      'private_key_jwt',
      '--jwks-file',
      file,
      '--scope',
      'mcp:tools',
    ]);
    expect(client).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
      grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
      redirect_uris: ['https://app.example/callback'],
      verified: false,
    });
    expect(client.client_secret).toBeUndefined();
    const ok = await clientCredentials(server, await assertion(server, client.client_id, privateKey, 'k2'));
    expect(ok.status, JSON.stringify(await ok.clone().json())).toBe(200);
    // Listed although the list used to show machine clients only.
    expect((await clients(server, ['list'])).stdout).toContain(client.client_id);
  });

  it('adds a client_secret_basic client with --auth client_secret_basic', async () => {
    const client = await add(server, [
      '--name',
      'explicit',
      '--grant',
      'client_credentials',
      '--auth',
      'client_secret_basic',
      '--scope',
      'mcp:tools',
    ]);
    expect(client.token_endpoint_auth_method).toBe('client_secret_basic');
    expect((await clientCredentials(server, {}, { authorization: basic(client.client_id, client.client_secret!) })).status).toBe(200);
  });

  it('restricts a client to the --resource it was given: another resource is invalid_target, none means its own', async () => {
    const sse = 'http://localhost:3001/sse';
    const client = await add(server, [
      '--name',
      'sse only',
      '--grant',
      'client_credentials',
      '--secret',
      '--scope',
      'mcp:tools',
      '--resource',
      sse,
    ]);
    expect(client.allowed_resources).toEqual([sse]);
    const auth = { authorization: basic(client.client_id, client.client_secret!) };
    const other = await clientCredentials(server, { resource: RESOURCE }, auth);
    expect(other.status).toBe(400);
    expect(await other.json()).toMatchObject({ error: 'invalid_target' });
    const own = await clientCredentials(server, { resource: sse }, auth);
    expect(claims(((await own.json()) as { access_token: string }).access_token).aud).toBe(sse);
    const unnamed = await clientCredentials(server, {}, auth);
    expect(claims(((await unnamed.json()) as { access_token: string }).access_token).aud).toBe(sse);
  });

  it('--verified: the consent page names an operator client without "unverified"; an unverified one keeps the badge', async () => {
    const redirect = 'http://127.0.0.1:8977/callback';
    const common = ['--grant', 'authorization_code', '--redirect-uri', redirect, '--secret'];
    const verified = await add(server, ['--name', 'Company dashboard', ...common, '--verified']);
    const plain = await add(server, ['--name', 'Other dashboard', ...common]);
    expect(verified.verified).toBe(true);
    const verifiedPage = await consentPage(server, verified.client_id, redirect);
    expect(verifiedPage).toContain('Company dashboard');
    expect(verifiedPage).not.toContain('unverified');
    const plainPage = await consentPage(server, plain.client_id, redirect);
    expect(plainPage).toContain('Other dashboard');
    expect(plainPage).toContain('unverified');
  });

  it('disable makes /token answer invalid_client, enable restores it, remove ends it', async () => {
    const client = await add(server, ['--name', 'batch', '--grant', 'client_credentials', '--secret', '--scope', 'mcp:tools']);
    const auth = { authorization: basic(client.client_id, client.client_secret!) };
    expect((await clients(server, ['disable', client.client_id])).code).toBe(0);
    const disabled = await clientCredentials(server, {}, auth);
    expect(disabled.status).toBe(401);
    expect(await disabled.json()).toMatchObject({ error: 'invalid_client' });
    expect(JSON.parse((await clients(server, ['show', client.client_id, '--json'])).stdout)).toMatchObject({ disabled: true });

    expect((await clients(server, ['enable', client.client_id])).code).toBe(0);
    expect((await clientCredentials(server, {}, auth)).status).toBe(200);

    expect((await clients(server, ['remove', client.client_id])).code).toBe(0);
    const removed = await clientCredentials(server, {}, auth);
    expect(removed.status).toBe(401);
    expect(await removed.json()).toMatchObject({ error: 'invalid_client' });
    expect(await clients(server, ['remove', client.client_id])).toMatchObject({
      code: 1,
      stderr: `clients: no client with id "${client.client_id}"\n`,
    });
  });

  it("adds a resource-server client that may introspect another client's refresh token", async () => {
    const rs = await add(server, ['--name', 'MCP server', '--resource-server', '--secret']);
    expect(rs).toMatchObject({ resource_server: true, grant_types: [] });
    const app = await registerPublicClient(server);
    const { tokens } = await loginAndGetTokens(server, { clientId: app.client_id, redirectUri: app.redirect_uris[0]! });
    const response = await postForm(
      `${server.url}/token/introspection`,
      { token: tokens.refresh_token! },
      { authorization: basic(rs.client_id, rs.client_secret!) },
    );
    expect(await response.json()).toMatchObject({ active: true, client_id: app.client_id });
  });

  it('lists and shows clients without their secrets, and leaves registered apps out of the list', async () => {
    const client = await add(server, ['--name', 'listed', '--grant', 'client_credentials', '--secret', '--scope', 'mcp:tools']);
    const app = await registerPublicClient(server);
    const list = await clients(server, ['list', '--json']);
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout) as Created[];
    expect(listed.map((c) => c.client_id)).toContain(client.client_id);
    expect(listed.map((c) => c.client_id)).not.toContain(app.client_id);
    const table = await clients(server, ['list']);
    expect(table.stdout).toMatch(
      new RegExp(`^${client.client_id}\\s+listed\\s+client_secret_basic\\s+mcp:tools\\s+-\\s+enabled machine$`, 'm'),
    );
    const shown = await clients(server, ['show', client.client_id]);
    for (const output of [list.stdout, table.stdout, shown.stdout]) expect(output).not.toContain(client.client_secret);
  });

  it('refuses settings the server would refuse with exit code 1: an unknown scope, a bad role, an unknown resource', async () => {
    for (const args of [
      ['--scope', 'mcp:everything'],
      ['--scope', 'mcp:tools', '--role', 'has space'],
      ['--scope', 'mcp:tools', '--resource', 'https://other.example/mcp'],
    ]) {
      const run = await clients(server, ['add', '--name', 'x', '--grant', 'client_credentials', '--secret', ...args, '--json']);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^clients: .+\n$/);
    }
  });

  it('answers bad arguments with one line on stderr and exit code 2, never a stack trace', { timeout: 90_000 }, async () => {
    const privateJwks = join(server.dir, 'private.json');
    await writeFile(
      privateJwks,
      JSON.stringify({ keys: [await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)] }),
    );
    const bad = [
      [],
      ['frobnicate'],
      ['add', '--bogus'],
      ['add', '--name', 'x', '--secret', '--scope', 'mcp:tools'],
      ['add', '--name', 'x', '--grant', 'authorization_code', '--secret', '--scope', 'mcp:tools'],
      ['add', '--name', 'x', '--grant', 'client_credentials', '--secret'],
      ['add', '--name', 'x', '--grant', 'client_credentials', '--scope', 'mcp:tools'],
      ['add', '--name', 'x', '--grant', 'client_credentials', '--secret', '--jwks-uri', 'https://a.example/j', '--scope', 'mcp:tools'],
      ['add', '--name', 'x', '--grant', 'client_credentials', '--jwks-uri', 'http://keys.example/jwks', '--scope', 'mcp:tools'],
      ['add', '--name', 'x', '--grant', 'client_credentials', '--jwks-file', join(server.dir, 'missing.json'), '--scope', 'mcp:tools'],
      ['add', '--name', 'x', '--grant', 'client_credentials', '--jwks-file', privateJwks, '--scope', 'mcp:tools'],
      ['add', '--grant', 'client_credentials', '--secret', '--scope', 'mcp:tools'],
      ['add', '--name', 'x', '--grant', 'client_credentials', '--auth', 'private_key_jwt', '--scope', 'mcp:tools'],
      [
        'add',
        '--name',
        'x',
        '--grant',
        'client_credentials',
        '--auth',
        'client_secret_basic',
        '--jwks-uri',
        'https://a.example/j',
        '--scope',
        'mcp:tools',
      ],
      ['add', '--name', 'x', '--grant', 'client_credentials', '--auth', 'client_secret_jwt', '--scope', 'mcp:tools'],
      ['add', '--name', 'x', '--grant', 'client_credentials', '--auth', 'client_secret_basic', '--secret', '--scope', 'mcp:tools'],
      ['add', '--name', 'x', '--grant', 'authorization_code', '--grant', 'refresh_token', '--secret'],
      ['add', '--name', 'x', '--grant', 'refresh_token', '--redirect-uri', 'https://a.example/cb', '--secret'],
      ['add', '--name', 'x', '--grant', 'client_credentials', '--secret', '--scope', 'mcp:tools', '--redirect-uri', 'https://a.example/cb'],
      ['add', '--name', 'x', '--grant', 'client_credentials', '--secret', '--scope', 'mcp:tools', '--resource', 'not a url'],
      ['add', '--name', 'x', '--grant', 'password', '--secret'],
      ['show'],
      ['disable', 'a', 'b'],
      ['list', '--name', 'x'],
    ];
    for (const args of bad) {
      const run = await clients(server, [...args, '--json']);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stdout, args.join(' ')).toBe('');
      expect(run.stderr, args.join(' ')).toMatch(/^clients: [^\n]+\n$/);
    }
  });

  it('stores only a hash of the secret: not in the SQLite files, not in show or list; the hash itself is no password', async () => {
    const client = await add(server, ['--name', 'hashed', '--grant', 'client_credentials', '--secret', '--scope', 'mcp:tools']);
    const secret = client.client_secret!;
    expect(client.client_secret_stored).toBe('hashed');
    const auth = { authorization: basic(client.client_id, secret) };
    expect((await clientCredentials(server, {}, auth)).status).toBe(200);
    const stored = (await server.storage.models.find('Client', client.client_id))!;
    expect(stored.client_secret).toBe(hashClientSecret(secret));
    // Every file of DATA_DIR (database, WAL, the attached lease file): the secret is nowhere. Read
    // by another process: closing a file this process has open drops SQLite's POSIX locks on it.
    expect(await filesHolding(server.config.dataDir, secret)).toEqual([]);
    expect(await filesHolding(server.config.dataDir, stored.client_secret as string)).not.toEqual([]);
    // Whoever has the store has the hash: presenting it as the secret is refused.
    const withHash = await clientCredentials(server, {}, { authorization: basic(client.client_id, stored.client_secret as string) });
    expect(withHash.status).toBe(401);
    expect(await withHash.json()).toMatchObject({ error: 'invalid_client' });
    for (const args of [['show', client.client_id], ['show', client.client_id, '--json'], ['list'], ['list', '--json']]) {
      const run = await clients(server, args);
      expect(run.code).toBe(0);
      expect(run.stdout).not.toContain(secret);
      expect(run.stdout).not.toContain(stored.client_secret as string);
    }
    expect(JSON.parse((await clients(server, ['show', client.client_id, '--json'])).stdout)).toMatchObject({
      client_secret_stored: 'hashed',
    });
  });

  it('a hashed secret works with client_secret_post too; a wrong or missing secret is refused', async () => {
    const client = await add(server, ['--name', 'hashed poster', '--grant', 'client_credentials', '--secret-post', '--scope', 'mcp:tools']);
    expect((await clientCredentials(server, { client_id: client.client_id, client_secret: client.client_secret! })).status).toBe(200);
    for (const form of [
      { client_id: client.client_id, client_secret: `${client.client_secret!}x` },
      { client_id: client.client_id, client_secret: client.client_secret!.slice(0, -1) },
      { client_id: client.client_id, client_secret: '' },
    ]) {
      const refused = await clientCredentials(server, form);
      expect(refused.status, JSON.stringify(form)).toBe(401);
      expect(await refused.json()).toMatchObject({ error: 'invalid_client' });
    }
  });

  it('no symmetric key comes from a hashed secret: HS256 assertions keyed with the secret or the hash are refused', async () => {
    const client = await add(server, ['--name', 'no hs', '--grant', 'client_credentials', '--secret', '--scope', 'mcp:tools']);
    const provider = await clientCheckingProvider(server.config, server.storage);
    const loaded = (await provider.Client.find(client.client_id)) as unknown as { symmetricKeyStore: Iterable<unknown> };
    expect([...loaded.symmetricKeyStore]).toEqual([]);
    const hash = (await server.storage.models.find('Client', client.client_id))!.client_secret as string;
    for (const key of [client.client_secret!, hash]) {
      const jwt = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(client.client_id)
        .setSubject(client.client_id)
        .setAudience(server.url)
        .setJti(crypto.randomUUID())
        .setIssuedAt()
        .setExpirationTime('1m')
        .sign(new TextEncoder().encode(key));
      const refused = await clientCredentials(server, {
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: jwt,
      });
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ error: 'invalid_client' });
    }
  });

  it('refuses client_secret_jwt and symmetric algorithms for a hashed-secret client, at add and in the client policy', async () => {
    const run = await clients(server, [
      'add',
      '--name',
      'x',
      '--grant',
      'client_credentials',
      '--auth',
      'client_secret_jwt',
      '--scope',
      'mcp:tools',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/client_secret_jwt needs the plain secret .*stored hashed: use --auth private_key_jwt/);
    const provider = await clientCheckingProvider(server.config, server.storage);
    const Client = provider.Client as unknown as new (metadata: object) => unknown;
    const hashed = {
      client_id: 'mc_policy_check',
      client_secret: hashClientSecret('s'.repeat(43)),
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'mcp:tools',
    };
    // What a hashed-secret client gets from these: refused with our reason, or (a property of a
    // feature this server has off) dropped by oidc-provider, leaving no symmetric key either way.
    const outcome = (metadata: object) => {
      try {
        const built = new Client(metadata) as { symmetricKeyStore: Iterable<unknown> };
        return [...built.symmetricKeyStore].length === 0 ? 'accepted without a symmetric key' : 'accepted WITH a symmetric key';
      } catch (error) {
        return (error as { error_description?: string }).error_description ?? String(error);
      }
    };
    expect(outcome({ ...hashed, token_endpoint_auth_method: 'client_secret_jwt' })).toMatch(/client_secret_jwt needs the plain secret/);
    expect(outcome({ ...hashed, token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: 'HS256' })).toMatch(
      /id_token_signed_response_alg HS256 would use the client secret as a key.*stored hashed: use an asymmetric algorithm/,
    );
    for (const [property, alg] of [
      ['userinfo_signed_response_alg', 'HS384'],
      ['introspection_signed_response_alg', 'HS512'],
      ['authorization_signed_response_alg', 'HS256'],
      ['request_object_signing_alg', 'HS256'],
      ['id_token_encrypted_response_alg', 'A128KW'],
      ['userinfo_encrypted_response_alg', 'dir'],
    ]) {
      expect(outcome({ ...hashed, token_endpoint_auth_method: 'client_secret_basic', [property!]: alg }), property).toMatch(
        /stored hashed: use an asymmetric algorithm|^accepted without a symmetric key$/,
      );
    }
    // The same metadata with a plain secret (a registered client's) is not this check's business.
    expect(outcome({ ...hashed, client_secret: 's'.repeat(43), token_endpoint_auth_method: 'client_secret_basic' })).toMatch(/^accepted/);
  });

  it('keeps an operator client stored before hashing (plain secret) working, and says so in show', async () => {
    const clientId = newClientId();
    const secret = 'p'.repeat(43);
    await server.storage.models.upsert(
      'Client',
      clientId,
      {
        client_id: clientId,
        client_id_issued_at: Math.floor(Date.now() / 1000),
        client_name: 'old plain',
        client_secret: secret,
        client_secret_expires_at: 0,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'mcp:tools',
      },
      undefined,
    );
    expect((await clientCredentials(server, {}, { authorization: basic(clientId, secret) })).status).toBe(200);
    expect((await clientCredentials(server, {}, { authorization: basic(clientId, `${secret}x`) })).status).toBe(401);
    const shown = await clients(server, ['show', clientId, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ client_secret_stored: 'plain' });
    expect(shown.stdout).not.toContain(secret);
  });

  it('--client-id names the client; an id taken already or shaped like an account id is refused', async () => {
    const machine = ['--grant', 'client_credentials', '--secret', '--scope', 'mcp:tools'];
    const client = await add(server, ['--name', 'named', '--client-id', 'agent-7', ...machine]);
    expect(client).toMatchObject({ client_id: 'agent-7', grant_types: ['client_credentials'] });
    expect((await clientCredentials(server, {}, { authorization: basic('agent-7', client.client_secret!) })).status).toBe(200);
    const taken = await clients(server, ['add', '--name', 'again', '--client-id', 'agent-7', ...machine]);
    expect(taken).toMatchObject({ code: 1, stdout: '' });
    expect(taken.stderr).toBe('clients: a client with id "agent-7" exists already; remove it first or choose another id\n');
    const accountShaped = await clients(server, ['add', '--name', 'x', '--client-id', 'Qm9iIGlzIGEgZ29vZCBib3', ...machine]);
    expect(accountShaped.code).toBe(1);
    expect(accountShaped.stderr).toMatch(/shape of an account id/);
    const spaced = await clients(server, ['add', '--name', 'x', '--client-id', 'has space', ...machine]);
    expect(spaced.code).toBe(2);
  });

  it('prints help on --help with exit code 0', async () => {
    const run = await clients(server, ['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--auth private_key_jwt');
  });
});

/** Signs in as alice for this client and returns the consent page's HTML. */
async function consentPage(server: TestAuthServer, clientId: string, redirectUri: string): Promise<string> {
  const browser = new TestBrowser();
  const params = new URLSearchParams({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'mcp:tools',
    code_challenge: pkcePair().challenge,
    code_challenge_method: 'S256',
    resource: RESOURCE,
  });
  const { response: login } = await browser.follow(await browser.get(`${server.url}/auth?${params}`));
  const html = await login.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  const action = /action="([^"]+\/login)"/.exec(html)?.[1];
  expect(csrf && action, html.slice(0, 500)).toBeTruthy();
  const { response: consent } = await browser.follow(
    await browser.postForm(new URL(action!, server.url).href, { csrf: csrf!, username: 'alice', password: 'correct horse battery staple' }),
  );
  const page = await consent.text();
  expect(page).toContain('/confirm"');
  return page;
}

describe('npm run clients (PostgreSQL)', () => {
  let server: TestAuthServer;
  beforeAll(async () => {
    server = await startAuthServer({}, { store: 'postgres' });
  });
  afterAll(() => server?.close());

  it('writes the client where the running server finds it, its row holding a hash and not the secret', async () => {
    const client = await add(server, ['--name', 'pg batch', '--grant', 'client_credentials', '--secret', '--scope', 'mcp:tools']);
    const auth = { authorization: basic(client.client_id, client.client_secret!) };
    expect((await clientCredentials(server, {}, auth)).status).toBe(200);
    const { pool, schema } = server.storage.postgres as { pool: Pool; schema: string };
    const { rows } = await pool.query<{ row: string }>(`SELECT m::text AS row FROM ${schema}.models m WHERE model = 'Client' AND id = $1`, [
      client.client_id,
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.row).not.toContain(client.client_secret!);
    expect(rows[0]!.row).toContain(hashClientSecret(client.client_secret!));
    expect((await clients(server, ['disable', client.client_id])).code).toBe(0);
    expect((await clientCredentials(server, {}, auth)).status).toBe(401);
  });
});

describe('client ids and account ids never meet', () => {
  it('no operator or registered client id has the shape of an account id', async () => {
    for (let i = 0; i < 200; i++) expect(looksLikeAccountId(newClientId())).toBe(false);
    const server = await startAuthServer();
    try {
      const account = await addUser(server);
      expect(looksLikeAccountId(account.id)).toBe(true);
      for (let i = 0; i < 5; i++) expect(looksLikeAccountId((await registerPublicClient(server)).client_id)).toBe(false);
    } finally {
      await server.close();
    }
  });

  it("refuses an RS_CLIENT_ID with an account id's shape, and a half pair", () => {
    const secret = 's'.repeat(32);
    expect(() => loadConfig({ RS_CLIENT_ID: 'Qm9iIGlzIGEgZ29vZCBib3', RS_CLIENT_SECRET: secret })).toThrow(/RS_CLIENT_ID/);
    expect(() => loadConfig({ RS_CLIENT_ID: 'mcp-resource-server' })).toThrow(/set both or neither/);
    expect(() => loadConfig({ RS_CLIENT_SECRET: secret })).toThrow(/set both or neither/);
    expect(() => loadConfig({ RS_CLIENT_ID: 'mcp-resource-server', RS_CLIENT_SECRET: 'short' })).toThrow(/RS_CLIENT_SECRET/);
    expect(loadConfig({ RS_CLIENT_ID: 'mcp-resource-server', RS_CLIENT_SECRET: secret }).resourceServerClient).toEqual({
      clientId: 'mcp-resource-server',
      secret,
    });
  });
});
