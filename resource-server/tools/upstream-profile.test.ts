import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { federatedFlow, redeem, startUpstreamAuthServer, type UpstreamAuthServer } from '../../auth-server/testing/federated-sign-in.ts';
import { startFakeUpstream, type FakeUpstream } from '../../auth-server/testing/fake-upstream.ts';
import {
  addUser,
  freePort,
  loginAndGetTokens,
  registerPublicClient,
  startAuthServer,
  type TestAuthServer,
} from '../../auth-server/testing/harness.ts';
import { loadConfig } from '../config.ts';
import { jsonRpcAnswer, postModern, startResourceServer, type RunningResourceServer } from '../testing/test-server.ts';

/**
 * The whole chain on loopback: an MCP token from a sign-in at our auth server through an upstream
 * (our own auth server as OIDC upstream, or a GitHub-shaped fake), the resource server's
 * `upstream_profile` exchanging it (RFC 8693) for the kept upstream token and reading the
 * upstream's userinfo with it.
 */
const PASSWORD = 'correct horse battery staple';
const RS_CLIENT = { RS_CLIENT_ID: 'mcp-resource-server', RS_CLIENT_SECRET: 'rs-secret-'.padEnd(40, 'x') };

let upstream: UpstreamAuthServer;
let fake: FakeUpstream;
let auth: TestAuthServer;
let rs: RunningResourceServer;
let mcpUrl: string;

async function mcpToken(provider: string, upstreamUser = 'carol'): Promise<string> {
  const client = await registerPublicClient(auth);
  const result = await federatedFlow(auth, {
    clientId: client.client_id,
    redirectUri: client.redirect_uris[0]!,
    scope: 'mcp:tools',
    resource: mcpUrl,
    provider,
    upstreamUser,
  });
  return (await redeem(auth, result, client.client_id, client.redirect_uris[0]!, mcpUrl)).access_token!;
}

async function callTool(token: string, name: string, args: Record<string, unknown> = {}) {
  const response = await postModern(
    mcpUrl,
    'tools/call',
    { name, arguments: args },
    { authorization: `Bearer ${token}`, 'mcp-name': name },
  );
  expect(response.status).toBe(200);
  return (await jsonRpcAnswer(response)).result as { isError?: boolean; content: { text: string }[]; structuredContent?: any };
}

beforeAll(async () => {
  const authPort = await freePort();
  const rsPort = await freePort();
  mcpUrl = `http://127.0.0.1:${rsPort}/mcp`;
  upstream = await startUpstreamAuthServer(authPort, { carol: ['admin'] });
  fake = await startFakeUpstream({ clientId: 'down', user: { sub: '583231', name: 'The Octocat', preferred_username: 'octocat' } });
  const file = join(upstream.dir, 'rs-upstreams.json');
  await writeFile(
    file,
    JSON.stringify([
      upstream.provider({ roles: { claim: 'roles', map: { admin: ['admin'] } }, storeTokens: true }),
      {
        id: 'github',
        name: 'GitHub',
        type: 'oauth2',
        authorizationUrl: `${fake.url}/authorize`,
        tokenUrl: `${fake.url}/token`,
        userinfoUrl: `${fake.url}/user`,
        clientId: 'down',
        clientSecret: 'fake-secret',
        storeTokens: true,
      },
    ]),
  );
  auth = await startAuthServer({ AUTH_PORT: String(authPort), AUTH_UPSTREAMS: file, RS_RESOURCE_URL: mcpUrl, ...RS_CLIENT });
  rs = await startResourceServer({
    RS_PORT: String(rsPort),
    RS_RESOURCE_URL: mcpUrl,
    AUTH_ISSUER: auth.url,
    ...RS_CLIENT,
    RS_UPSTREAM_USERINFO: `ours=${upstream.url}/me,github=${fake.url}/user`,
  });
});
afterAll(async () => {
  await rs?.close();
  await auth?.close();
  await upstream?.close();
  await fake?.close();
});

describe('upstream_profile', () => {
  it('returns the upstream’s userinfo for the signed-in user (our AS upstream), while whoami shows our account and mapped role', async () => {
    const token = await mcpToken('ours');
    const profile = await callTool(token, 'upstream_profile', { upstream: 'ours' });
    expect(profile.isError).toBeFalsy();
    const upstreamCarol = await upstream.storage.accounts.findByUsername('carol');
    expect(profile.structuredContent).toMatchObject({ upstream: 'ours', profile: { sub: upstreamCarol!.id } });
    const whoami = await callTool(token, 'whoami');
    const carol = await auth.storage.accounts.findByUsername('carol');
    expect(whoami.structuredContent).toMatchObject({ kind: 'user', subject: carol!.id, roles: ['user', 'admin'] });
  });

  it('GitHub shape: returns the /user document', async () => {
    const token = await mcpToken('github');
    const profile = await callTool(token, 'upstream_profile', { upstream: 'github' });
    expect(profile.structuredContent).toMatchObject({ upstream: 'github', profile: { id: 583231, login: 'octocat' } });
    // No token passthrough: the upstream saw its own token, never the MCP client's.
    expect(fake.bearers.length).toBeGreaterThan(0);
    expect(fake.bearers).not.toContain(token);
  });

  it('a revoked upstream refresh token: a clear tool error for that user, other tools and other users unaffected', async () => {
    fake.accessTokenTtl = 30; // every exchange refreshes
    try {
      const github = await mcpToken('github');
      const ours = await mcpToken('ours');
      fake.revokeRefreshTokens();
      const refused = await callTool(github, 'upstream_profile', { upstream: 'github' });
      expect(refused.isError).toBe(true);
      expect(refused.content[0]!.text).toMatch(
        /^upstream_profile: the authorization server refused the exchange \(invalid_grant\): GitHub refused to refresh the kept token .*sign in through GitHub again/,
      );
      expect((await callTool(github, 'whoami')).isError).toBeFalsy();
      expect((await callTool(github, 'greet', { name: 'still here' })).content[0]!.text).toMatch(/still here/);
      expect((await callTool(ours, 'upstream_profile', { upstream: 'ours' })).isError).toBeFalsy();
    } finally {
      fake.accessTokenTtl = 300;
    }
  });

  it('a user with nothing kept (password sign-in) gets a tool error saying so', async () => {
    await addUser(auth, 'alice', [], PASSWORD);
    const client = await registerPublicClient(auth);
    const { tokens } = await loginAndGetTokens(auth, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      username: 'alice',
      resource: mcpUrl,
    });
    const refused = await callTool(tokens.access_token, 'upstream_profile', {});
    expect(refused.isError).toBe(true);
    expect(refused.content[0]!.text).toMatch(/no Upstream AS token is kept for this user/);
  });

  it('is listed only when configured, and RS_UPSTREAM_USERINFO needs the resource server’s client', async () => {
    const list = await postModern(mcpUrl, 'tools/list', {}, { authorization: `Bearer ${await mcpToken('ours')}` });
    const names = ((await jsonRpcAnswer(list)).result.tools as { name: string }[]).map((t) => t.name);
    expect(names).toContain('upstream_profile');
    expect(() => loadConfig({ RS_UPSTREAM_USERINFO: 'github=https://api.github.com/user' })).toThrow(/needs RS_CLIENT_ID/);
    expect(() => loadConfig({ ...RS_CLIENT, RS_UPSTREAM_USERINFO: 'github' })).toThrow(/<upstream id>=<userinfo URL>/);
    expect(loadConfig({ ...RS_CLIENT, RS_UPSTREAM_USERINFO: 'github=https://api.github.com/user' }).upstreamUserinfo).toEqual([
      { id: 'github', url: 'https://api.github.com/user' },
    ]);
  });
});
