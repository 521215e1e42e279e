import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClientsCli } from '../auth-server/cli/clients.ts';
import { runTokensCli } from '../auth-server/cli/tokens.ts';
import { runUsersCli } from '../auth-server/cli/users.ts';
import {
  addUser,
  freePort,
  loginAndGetTokens,
  postForm,
  registerPublicClient,
  startAuthServer,
  type TestAuthServer,
} from '../auth-server/testing/harness.ts';
import { MCP_POST_HEADERS, startResourceServer, watchStream, type RunningResourceServer } from './testing/test-server.ts';

/** The feed is pulled this often here (RS_REVOCATION_POLL_SECONDS); the requirement is poll + 2 s. */
const POLL_SECONDS = 0.5;
const RS_ID = 'revocation-test-rs';
const RS_SECRET = 'revocation-test-secret-0123456789abcdef';

let publicResource: string;
let auth: TestAuthServer;
let a: RunningResourceServer;
let b: RunningResourceServer;
let cliEnv: Record<string, string>;

const quiet = () => new Writable({ write: (_c, _e, done) => done() });
function capture() {
  let text = '';
  return {
    stream: new Writable({
      write(chunk, _e, done) {
        text += String(chunk);
        done();
      },
    }),
    text: () => text,
  };
}

async function tokensCli(argv: string[]) {
  const out = capture();
  expect(await runTokensCli(argv, { stdout: out.stream, stderr: quiet(), env: cliEnv })).toBe(0);
  return out.text().trimEnd().split('\n').at(-1)!;
}

async function machineToken(name: string) {
  const out = capture();
  const argv = ['add', '--name', name, '--grant', 'client_credentials', '--secret', '--scope', 'mcp:tools', '--json'];
  expect(await runClientsCli(argv, { stdout: out.stream, stderr: quiet(), env: cliEnv })).toBe(0);
  const client = JSON.parse(out.text()) as { client_id: string; client_secret: string };
  const response = await postForm(
    `${auth.url}/token`,
    { grant_type: 'client_credentials', scope: 'mcp:tools', resource: publicResource },
    { authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}` },
  );
  const body = (await response.json()) as { access_token: string };
  return { clientId: client.client_id, token: body.access_token };
}

async function userTokens(username: string) {
  const client = await registerPublicClient(auth);
  const { tokens } = await loginAndGetTokens(auth, {
    clientId: client.client_id,
    redirectUri: client.redirect_uris[0]!,
    resource: publicResource,
    username,
  });
  return { clientId: client.client_id, ...tokens };
}

/** One tools/call on one instance (stateless: no session), the status and the JSON-RPC answer. */
async function call(instance: RunningResourceServer, token: string, tool = 'whoami', args: Record<string, unknown> = {}) {
  const response = await fetch(`${instance.url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${token}`, 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool, arguments: args } }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

beforeAll(async () => {
  publicResource = `http://127.0.0.1:${await freePort()}/mcp`;
  auth = await startAuthServer({ RS_RESOURCE_URL: publicResource, RS_CLIENT_ID: RS_ID, RS_CLIENT_SECRET: RS_SECRET });
  cliEnv = {
    NODE_ENV: 'test',
    DATA_DIR: auth.config.dataDir,
    KEYS_DIR: auth.config.keysDir,
    AUTH_ISSUER: auth.url,
    RS_RESOURCE_URL: publicResource,
  };
  for (const name of ['alice', 'bob', 'carol', 'dave']) await addUser(auth, name);
  const env = {
    RS_RESOURCE_URL: publicResource,
    AUTH_ISSUER: auth.url,
    MCP_STATELESS: '1',
    RS_CLIENT_ID: RS_ID,
    RS_CLIENT_SECRET: RS_SECRET,
    RS_REVOCATION_POLL_SECONDS: String(POLL_SECONDS),
    METRICS_ALLOW: '127.0.0.1',
  };
  [a, b] = await Promise.all([startResourceServer(env), startResourceServer(env)]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await auth?.close();
});

describe('revocation reaches every resource server', () => {
  it('a revoked grant, a disabled user, a disabled client and a revoked PAT are refused within poll + 2 s on both instances under load; nobody else is touched', async () => {
    const revokedGrant = await userTokens('alice');
    const aliceOther = await userTokens('alice'); // another grant of the same user: stays good
    const disabledUser = await userTokens('bob');
    const bystander = await userTokens('carol');
    const disabledClient = await machineToken('to-disable');
    const otherClient = await machineToken('bystander');
    const revokedPat = await tokensCli(['create', '--user', 'dave', '--name', 'ci', '--scope', 'mcp:tools']);
    const otherPat = await tokensCli(['create', '--user', 'dave', '--name', 'other', '--scope', 'mcp:tools']);

    const affected = {
      grant: revokedGrant.access_token,
      user: disabledUser.access_token,
      client: disabledClient.token,
      pat: revokedPat,
    };
    const untouched = {
      'same user, other grant': aliceOther.access_token,
      'other user': bystander.access_token,
      'other client': otherClient.token,
      'other PAT': otherPat,
    };
    // Warm: every token verified (and cached) on both instances.
    for (const instance of [a, b]) {
      for (const [what, token] of Object.entries({ ...affected, ...untouched }))
        expect((await call(instance, token)).status, what).toBe(200);
    }

    // Light, bounded load: four workers cycle every untouched token over both instances until done.
    const failures: string[] = [];
    let served = 0;
    let loading = true;
    const worker = async (offset: number) => {
      const entries = Object.entries(untouched);
      for (let i = offset; loading; i++) {
        const [what, token] = entries[i % entries.length]!;
        const instance = i % 2 === 0 ? a : b;
        const { status } = await call(instance, token);
        if (status === 200) served++;
        else failures.push(`${what} on ${instance === a ? 'A' : 'B'}: ${status}`);
      }
    };
    const load = [0, 1, 2, 3].map(worker);

    const revokedAt: Record<string, number> = {};
    const refusedAfter: Record<string, number> = {};
    await Promise.all([
      (async () => {
        const response = await postForm(`${auth.url}/token/revocation`, {
          token: revokedGrant.refresh_token!,
          client_id: revokedGrant.clientId,
        });
        expect(response.status).toBe(200);
        revokedAt.grant = Date.now();
      })(),
      (async () => {
        expect(await runUsersCli(['disable', 'bob'], { stdin: Readable.from(['']), stdout: quiet(), stderr: quiet(), env: cliEnv })).toBe(
          0,
        );
        revokedAt.user = Date.now();
      })(),
      (async () => {
        expect(await runClientsCli(['disable', disabledClient.clientId], { stdout: quiet(), stderr: quiet(), env: cliEnv })).toBe(0);
        revokedAt.client = Date.now();
      })(),
      (async () => {
        await tokensCli(['revoke', '--user', 'dave', '--name', 'ci']);
        revokedAt.pat = Date.now();
      })(),
    ]);

    const deadline = (POLL_SECONDS + 2) * 1000;
    await Promise.all(
      Object.entries(affected).flatMap(([what, token]) =>
        [a, b].map(async (instance, n) => {
          for (;;) {
            const { status, headers } = await call(instance, token);
            const elapsed = Date.now() - revokedAt[what]!;
            if (status === 401) {
              expect(headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
              refusedAfter[`${what} on ${n === 0 ? 'A' : 'B'}`] = elapsed;
              return;
            }
            expect(status, `${what} on ${n === 0 ? 'A' : 'B'}`).toBe(200);
            expect(elapsed, `${what} still accepted on ${n === 0 ? 'A' : 'B'}`).toBeLessThan(deadline);
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }),
      ),
    );
    loading = false;
    await Promise.all(load);

    expect(Object.keys(refusedAfter)).toHaveLength(8);
    for (const [what, ms] of Object.entries(refusedAfter)) expect(ms, what).toBeLessThan(deadline);
    expect(failures).toEqual([]);
    expect(served).toBeGreaterThan(8);
    // Still good afterwards, on both instances.
    for (const instance of [a, b]) {
      for (const [what, token] of Object.entries(untouched)) expect((await call(instance, token)).status, what).toBe(200);
    }
    console.info(
      `revocation latency (ms, poll ${POLL_SECONDS * 1000}): ${JSON.stringify(refusedAfter)}; ${served} requests served meanwhile`,
    );
  });

  it('a PAT is a Bearer token like any other: the tool sees its user and scopes, a scope it lacks gets 403 step-up, a wrong or DPoP-scheme one 401', async () => {
    await addUser(auth, 'erin');
    const pat = await tokensCli(['create', '--user', 'erin', '--name', 'script', '--scope', 'mcp:tools']);
    const erin = (await auth.storage.accounts.findByUsername('erin'))!;
    const ok = await call(a, pat);
    expect(ok.status).toBe(200);
    expect(ok.text).toContain(erin.id);
    expect(ok.text).toContain('pat:');
    const denied = await call(b, pat, 'admin_report');
    expect(denied.status).toBe(403);
    expect(denied.headers.get('www-authenticate')).toMatch(/error="insufficient_scope".*scope="[^"]*mcp:admin/);
    const wrong = await call(a, `${pat.slice(0, -4)}AAAA`);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    const dpop = await fetch(`${a.url}/mcp`, {
      method: 'POST',
      headers: { ...MCP_POST_HEADERS, authorization: `DPoP ${pat}`, 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(dpop.status).toBe(401);
  });
});

describe('event streams end with their token', () => {
  it("a session's GET stream ends at the feed pull that brings its grant's revocation; another user's stream stays open", async () => {
    const session = await startResourceServer({
      RS_RESOURCE_URL: publicResource,
      AUTH_ISSUER: auth.url,
      RS_CLIENT_ID: RS_ID,
      RS_CLIENT_SECRET: RS_SECRET,
      // Pulled by the test, not on a timer.
      RS_REVOCATION_POLL_SECONDS: '3600',
    });
    try {
      await addUser(auth, 'frank');
      await addUser(auth, 'grace');
      const open = async (token: string) => {
        const headers = { authorization: `Bearer ${token}`, 'mcp-protocol-version': '2025-11-25' };
        const init = await fetch(`${session.url}/mcp`, {
          method: 'POST',
          headers: { ...MCP_POST_HEADERS, ...headers },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'initialize',
            params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
          }),
        });
        expect(init.status).toBe(200);
        await init.text();
        const sessionHeaders = { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id')! };
        const stream = await fetch(`${session.url}/mcp`, { headers: { ...sessionHeaders, accept: 'text/event-stream' } });
        expect(stream.status).toBe(200);
        return watchStream(stream);
      };
      const frank = await userTokens('frank');
      const grace = await userTokens('grace');
      const revoked = await open(frank.access_token);
      const bystander = await open(grace.access_token);
      await session.revocationFeed!.pull(); // entries from earlier tests: nothing of these two
      expect(revoked.ended).toBe(false);

      const response = await postForm(`${auth.url}/token/revocation`, { token: frank.refresh_token!, client_id: frank.clientId });
      expect(response.status).toBe(200);
      expect(await session.revocationFeed!.pull()).toBe(true);
      await revoked.done;
      expect(revoked.ended).toBe(true);
      expect(bystander.ended).toBe(false);
    } finally {
      await session.close();
    }
  });
});

describe('when the feed cannot be reached', () => {
  const unreachable = async (extra: Record<string, string>) => {
    const closed = await freePort(); // nothing listens there
    return startResourceServer(
      {
        RS_RESOURCE_URL: publicResource,
        AUTH_ISSUER: auth.url,
        AUTH_INTERNAL_URL: `http://127.0.0.1:${closed}`,
        MCP_STATELESS: '1',
        RS_CLIENT_ID: RS_ID,
        RS_CLIENT_SECRET: RS_SECRET,
        RS_REVOCATION_POLL_SECONDS: '0.2',
        METRICS_ALLOW: '127.0.0.1',
        ...extra,
      },
      { captureLogs: true },
    );
  };
  const feedAge = async (instance: RunningResourceServer) => {
    const text = await (await fetch(`${instance.url}/metrics`)).text();
    return Number(/^resource_server_revocation_feed_age_seconds (\S+)$/m.exec(text)?.[1]);
  };

  it('keeps serving on its last list by default, logs it, and the metric shows the feed getting older', async () => {
    const instance = await unreachable({});
    try {
      const { access_token } = await userTokens('carol');
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect((await call(instance, access_token)).status).toBe(200);
      const first = await feedAge(instance);
      expect(first).toBeGreaterThanOrEqual(0.6);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await feedAge(instance)).toBeGreaterThan(first);
      expect(instance.logs.some((line) => line.includes('revocation feed unreachable, keeping the last list'))).toBe(true);
    } finally {
      await instance.close();
    }
  });

  it('with RS_REVOCATION_MAX_STALENESS, refuses every token (503, Retry-After) once the list is older than that', async () => {
    const started = Date.now();
    const instance = await unreachable({ RS_REVOCATION_MAX_STALENESS: '1' });
    try {
      const { access_token } = await userTokens('carol');
      if (Date.now() - started < 800) expect((await call(instance, access_token)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1_300 - (Date.now() - started))));
      const refused = await call(instance, access_token);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refused.text).toContain('temporarily_unavailable');
    } finally {
      await instance.close();
    }
  });

  it('while the feed is reachable, its age stays below one poll interval (plus a pull)', async () => {
    for (const instance of [a, b]) {
      const text = await (await fetch(`${instance.url}/metrics`)).text();
      const age = Number(/^resource_server_revocation_feed_age_seconds (\S+)$/m.exec(text)?.[1]);
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(POLL_SECONDS + 1);
    }
  });
});
