import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../client/store.ts';
import { freePort } from '../../common/free-port.ts';
import {
  INITIALIZE,
  MCP_POST_HEADERS,
  startResourceServer,
  type RunningResourceServer,
} from '../../resource-server/testing/test-server.ts';
import { runClientsCli } from '../cli/clients.ts';
import { addUser, authorize, postForm, postJson, startAuthServer, type TestAuthServer } from '../testing/harness.ts';

/**
 * Enterprise-Managed Authorization with nothing but our own parts: `idp` is one of our auth
 * servers acting as the company's IdP (AUTH_ID_JAG_TARGETS), `as` another one, the MCP server's
 * (AUTH_TRUSTED_IDPS trusts `idp`), and our resource server behind it. The user signs in once at
 * the IdP; from there the command-line client (`mcp-oauth`, a real process) exchanges the ID token
 * for an ID-JAG at the IdP, redeems it at the MCP server's AS and calls a tool, with no browser.
 */

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const REDIRECT_URI = 'http://127.0.0.1:8975/callback';
const CLI = fileURLToPath(new URL('../../client/main.ts', import.meta.url));

let dir: string;
let idp: TestAuthServer;
let as: TestAuthServer;
let rs: RunningResourceServer;
/** The agent's registration at the IdP, and its (hashed-secret) operator client at the AS under the same id. */
let agent: { client_id: string; idpSecret: string; asSecret: string };
let idTokenFile: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `mcp-oauth …` as a real process without a terminal or a browser, with its own cache directory. */
function cli(args: string[], configHome: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, XDG_CONFIG_HOME: configHome, BROWSER: '', DISPLAY: '', WAYLAND_DISPLAY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const sink = (append: (text: string) => void) =>
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      append(chunk.toString());
      done();
    },
  });

const events = (server: TestAuthServer, event: string) =>
  server.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === event);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'id-jag-cli-'));
  const [idpPort, asPort, rsPort] = [await freePort(), await freePort(), await freePort()];
  const idpIssuer = `http://localhost:${idpPort}`;
  const asIssuer = `http://localhost:${asPort}`;
  const resource = `http://127.0.0.1:${rsPort}/mcp`;
  await writeFile(
    join(dir, 'targets.json'),
    JSON.stringify([{ audience: asIssuer, resources: [resource], clients: '*', scopes: ['mcp:tools'] }]),
  );
  await writeFile(join(dir, 'trusted.json'), JSON.stringify([{ issuer: idpIssuer, clients: '*', resources: [resource] }]));
  idp = await startAuthServer({ AUTH_PORT: String(idpPort), AUTH_ID_JAG_TARGETS: join(dir, 'targets.json') });
  as = await startAuthServer({ AUTH_PORT: String(asPort), RS_RESOURCE_URL: resource, AUTH_TRUSTED_IDPS: join(dir, 'trusted.json') });
  rs = await startResourceServer({ RS_PORT: String(rsPort), RS_RESOURCE_URL: resource, AUTH_ISSUER: as.url });
  await addUser(idp, 'alice');

  // The agent at the IdP: signs users in (authorization_code) and exchanges their ID tokens.
  const registration = await postJson(`${idp.url}/reg`, {
    client_name: 'Enterprise agent',
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE],
    token_endpoint_auth_method: 'client_secret_basic',
  });
  const registered = (await registration.json()) as { client_id: string; client_secret: string };
  expect(registration.status, JSON.stringify(registered)).toBe(201);
  // The same agent at the MCP server's AS, made by its operator (`clients: '*'`: the same id).
  // The command reads the server's configuration, as `npm run clients` in its environment would.
  let stdout = '';
  let stderr = '';
  const added = await runClientsCli(
    ['add', '--name', 'Enterprise agent', '--client-id', registered.client_id, '--grant', 'jwt-bearer', '--secret', '--json'],
    {
      stdout: sink((text) => (stdout += text)),
      stderr: sink((text) => (stderr += text)),
      env: {
        DATA_DIR: as.config.dataDir,
        AUTH_PORT: String(asPort),
        RS_RESOURCE_URL: resource,
        AUTH_TRUSTED_IDPS: join(dir, 'trusted.json'),
      },
    },
  );
  expect(added, stderr).toBe(0);
  const created = JSON.parse(stdout) as { client_id: string; client_secret: string };
  expect(created.client_id).toBe(registered.client_id);
  agent = { client_id: registered.client_id, idpSecret: registered.client_secret, asSecret: created.client_secret };

  // The user signs in once, at the IdP: its ID token is what the CLI starts from.
  const signIn = await authorize(idp, { clientId: agent.client_id, redirectUri: REDIRECT_URI, scope: 'openid profile', username: 'alice' });
  const code = signIn.callback?.searchParams.get('code');
  expect(code, signIn.html?.slice(0, 300)).toBeTruthy();
  const response = await postForm(
    `${idp.url}/token`,
    { grant_type: 'authorization_code', code: code!, redirect_uri: REDIRECT_URI, code_verifier: signIn.verifier },
    { authorization: `Basic ${Buffer.from(`${agent.client_id}:${agent.idpSecret}`).toString('base64')}` },
  );
  const tokens = (await response.json()) as { id_token: string };
  expect(response.status, JSON.stringify(tokens)).toBe(200);
  idTokenFile = join(dir, 'id-token.jwt');
  await writeFile(idTokenFile, tokens.id_token, { mode: 0o600 });
});

afterAll(async () => {
  await rs?.close();
  await as?.close();
  await idp?.close();
  await rm(dir, { recursive: true, force: true });
});

const loginArgs = () => [
  'login',
  rs.mcpUrl,
  '--id-jag-idp',
  `${idp.url}/token`,
  '--id-token',
  idTokenFile,
  '--client-id',
  agent.client_id,
  '--client-secret',
  agent.asSecret,
  '--idp-client-secret',
  agent.idpSecret,
];

describe('mcp-oauth against two of our auth servers (IdP and MCP AS) and our MCP server', () => {
  it('signs in with the IdP’s ID token alone (exchange, jwt-bearer, no browser) and calls a tool as that user', async () => {
    const home = await mkdtemp(join(dir, 'home-'));
    const login = await cli(loginArgs(), home);
    expect(login.code, login.stderr).toBe(0);

    const call = await cli(['call', rs.mcpUrl, 'whoami', '--json'], home);
    expect(call.code, call.stderr).toBe(0);
    const alice = await idp.storage.accounts.findByUsername('alice');
    const link = await as.storage.accounts.findLink(`idp:${idp.url}`, alice!.id);
    expect(link, 'the AS links the IdP user to an account of its own').toBeTruthy();
    expect(JSON.parse(call.stdout)).toMatchObject({
      structuredContent: { kind: 'user', subject: link!.accountId, clientId: agent.client_id, scopes: ['mcp:tools'] },
    });

    // Each server did its part, once: the IdP issued an ID-JAG for the AS, the AS redeemed it.
    expect(events(idp, 'id_jag.issued')).toMatchObject([{ client_id: agent.client_id }]);
    expect(events(as, 'id_jag.redeemed')).toMatchObject([{ client_id: agent.client_id, iss: idp.url, resource: rs.mcpUrl }]);
  });

  it('with --dpop the token the CLI holds is bound to its key: the MCP server refuses it as a plain Bearer', async () => {
    const home = await mkdtemp(join(dir, 'home-'));
    const login = await cli([...loginArgs(), '--dpop'], home);
    expect(login.code, login.stderr).toBe(0);
    const call = await cli(['call', rs.mcpUrl, 'whoami', '--json'], home);
    expect(call.code, call.stderr).toBe(0);
    expect(JSON.parse(call.stdout)).toMatchObject({ structuredContent: { kind: 'user', clientId: agent.client_id } });

    const held = await new Store(join(home, 'mcp-oauth-stack')).getTokens(as.url, rs.mcpUrl);
    expect(held?.dpop_jwk, 'the cached sign-in keeps its DPoP key').toBeTruthy();
    const claims = JSON.parse(Buffer.from(held!.access_token.split('.')[1]!, 'base64url').toString()) as { cnf?: { jkt?: string } };
    expect(claims.cnf?.jkt).toBeTypeOf('string');
    const stolen = await fetch(rs.mcpUrl, {
      method: 'POST',
      headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${held!.access_token}` },
      body: JSON.stringify(INITIALIZE),
    });
    expect(stolen.status).toBe(401);
    await stolen.body?.cancel();
  });

  it('is refused where the chain is broken: the wrong secret at the IdP, the wrong secret at the AS', async () => {
    for (const [flag, value, where] of [
      ['--idp-client-secret', 'wrong', /token exchange at the IdP failed: invalid_client/],
      ['--client-secret', 'wrong', /invalid_client/],
    ] as const) {
      const args = loginArgs();
      args[args.indexOf(flag) + 1] = value;
      const home = await mkdtemp(join(dir, 'home-'));
      const login = await cli(args, home);
      expect(login.code, flag).toBe(1);
      expect(login.stderr, flag).toMatch(where);
    }
  });
});
