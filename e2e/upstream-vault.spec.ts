import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { screenshot, UserAtBrowser } from './login-page.ts';
import { callTool, connect, TestOAuthProvider } from './mcp-client.ts';
import { freePort, ROOT, startStack, type Stack } from './stack.ts';

/**
 * Federation and the token vault in a real browser: `npm start` (the downstream auth server and
 * the MCP server) with a second auth server of ours as its OIDC upstream (`storeTokens`). The
 * person clicks "Continue with Upstream AS", signs in and consents on the upstream's pages, then
 * consents downstream; the v2 MCP SDK client then calls `whoami` (the federated account with its
 * mapped role) and `upstream_profile` (the upstream's userinfo, read with the kept upstream token
 * the resource server got by token exchange).
 */
const INITIAL_ACCESS_TOKEN = 'e2e-initial-access-token-for-the-upstream';
const carol = { username: 'carol', password: 'correct horse battery staple' };

let dir: string;
let upstream: { url: string; child: ChildProcess; exited: Promise<unknown>; output: () => string };
let stack: Stack;

async function run(args: string[], env: Record<string, string>, stdin = ''): Promise<string> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  child.stdin.end(stdin);
  const code = await new Promise<number | null>((done) => child.once('close', done));
  if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}: ${output}`);
  return output;
}

/** The upstream: our own auth server as a child process on 127.0.0.1 (another site than the downstream's localhost). */
async function startUpstream(): Promise<typeof upstream> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    AUTH_PORT: String(port),
    AUTH_ISSUER: url,
    AUTH_HOST: '127.0.0.1',
    DATA_DIR: join(dir, 'upstream-data'),
    KEYS_DIR: join(dir, 'upstream-keys'),
    AUTH_INITIAL_ACCESS_TOKEN: INITIAL_ACCESS_TOKEN,
    RS_RESOURCE_URL: `http://127.0.0.1:${await freePort()}/mcp`,
    LOG_FORMAT: 'json',
  };
  const child = spawn(process.execPath, ['auth-server/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise((done) => child.once('close', done));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const healthy = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (healthy) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the upstream auth server did not start:\n${output}`);
    await new Promise((done) => setTimeout(done, 100));
  }
  await run(
    [
      'auth-server/cli/users.ts',
      'add',
      carol.username,
      '--password-stdin',
      '--name',
      'Carol',
      '--email',
      'carol@example.com',
      '--role',
      'admin',
    ],
    { DATA_DIR: env.DATA_DIR },
    carol.password,
  );
  return { url, child, exited, output: () => output };
}

test.beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'e2e-vault-'));
  upstream = await startUpstream();
  const authPort = await freePort();
  // The downstream's confidential client at the upstream, registered as an operator would.
  const registration = await fetch(`${upstream.url}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${INITIAL_ACCESS_TOKEN}` },
    body: JSON.stringify({
      client_name: 'Downstream auth server',
      redirect_uris: [`http://localhost:${authPort}/upstream/ours/callback`],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
  });
  expect(registration.status).toBe(201);
  const client = (await registration.json()) as { client_id: string; client_secret: string };
  const file = join(dir, 'upstreams.json');
  await writeFile(
    file,
    JSON.stringify([
      {
        id: 'ours',
        name: 'Upstream AS',
        type: 'oidc',
        issuer: upstream.url,
        clientId: client.client_id,
        clientSecret: client.client_secret,
        roles: { claim: 'roles', map: { admin: ['admin'] } },
        storeTokens: true,
      },
    ]),
  );
  stack = await startStack({
    AUTH_PORT: String(authPort),
    AUTH_UPSTREAMS: file,
    RS_UPSTREAM_USERINFO: `ours=${upstream.url}/me`,
  });
});

test.afterAll(async () => {
  if (stack) expect(await stack.stop(), 'npm start exits 0 on Ctrl-C').toBe(0);
  if (upstream) {
    if (upstream.child.exitCode === null) upstream.child.kill('SIGTERM');
    await upstream.exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('signs in through the upstream’s pages; whoami shows the federated user and mapped role, upstream_profile the upstream’s userinfo', async ({
  page,
}, testInfo) => {
  const user = new UserAtBrowser(page);
  const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
  const provider = new TestOAuthProvider({ redirectUrl: redirectUri });
  const authorize = user.authorizer(redirectUri, async (u) => {
    await u.expectLoginPage();
    await page.getByRole('link', { name: 'Continue with Upstream AS' }).click();
    // The upstream's own pages, on its origin.
    await page.waitForURL((url) => url.origin === upstream.url);
    await screenshot(page, testInfo, 'upstream-login');
    await u.signIn(carol);
    await u.allow();
    // Back downstream: our consent page for the MCP server.
    await page.waitForURL((url) => url.origin === stack.issuer);
    await u.expectConsentPage(['mcp:tools']);
    await u.allow();
  });

  const mcp = await connect(stack.mcpUrl, provider, authorize, 'modern');
  try {
    const whoami = await callTool(mcp, provider, authorize, 'whoami');
    expect(whoami.isError).toBeFalsy();
    expect(whoami.structuredContent).toMatchObject({ kind: 'user', roles: ['user', 'admin'] });
    const subject = (whoami.structuredContent as { subject: string }).subject;

    const profile = await callTool(mcp, provider, authorize, 'upstream_profile', { upstream: 'ours' });
    expect(profile.isError, JSON.stringify(profile.content)).toBeFalsy();
    const { profile: info } = profile.structuredContent as { profile: Record<string, unknown> };
    expect(info).toMatchObject({ name: 'Carol', email: 'carol@example.com' });
    // The upstream's subject, not ours: the tool read the upstream with the upstream's token.
    expect(info.sub).toEqual(expect.any(String));
    expect(info.sub).not.toBe(subject);
  } finally {
    await mcp.close();
  }
});
