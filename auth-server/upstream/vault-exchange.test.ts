import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSigningKeys } from '../keys/signing-keys.ts';
import { EncryptionKeyError } from '../keys/secrets-at-rest.ts';
import { TOKEN_EXCHANGE } from '../provider/token-exchange.ts';
import { federatedFlow, redeem, startUpstreamAuthServer, type UpstreamAuthServer } from '../testing/federated-sign-in.ts';
import { startFakeUpstream, type FakeUpstream } from '../testing/fake-upstream.ts';
import {
  addUser,
  freePort,
  loginAndGetTokens,
  postForm,
  postJson,
  RESOURCE,
  registerPublicClient,
  startAuthServer,
  type TestAuthServer,
} from '../testing/harness.ts';
import { loadVaultKeys, tokenVault } from './token-vault.ts';

/**
 * The token vault end to end: people sign in at the downstream auth server through our own auth
 * server (OIDC, on 127.0.0.1) or a GitHub-shaped fake (plain OAuth 2, rotating refresh tokens),
 * both with storeTokens; the resource server's client then exchanges the MCP access token
 * (RFC 8693) for the upstream's token, which must work at the upstream.
 */
const PASSWORD = 'correct horse battery staple';
const RS = { id: 'mcp-resource-server', secret: 'rs-secret-'.padEnd(40, 'x') };
const OTHER_RESOURCE = 'http://localhost:4999/other-mcp';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

let upstream: UpstreamAuthServer;
let fake: FakeUpstream;
let down: TestAuthServer;
let downEnv: Record<string, string>;

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function exchange(subjectToken: string, form: Record<string, string> = {}, client = RS) {
  const response = await postForm(
    `${down.url}/token`,
    { grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE, audience: 'ours', ...form },
    { authorization: basic(client.id, client.secret) },
  );
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

/** An MCP access token for `resource`, from a sign-in at the downstream through `provider`. */
async function mcpToken(provider: string, upstreamUser = 'carol', resource = RESOURCE): Promise<string> {
  const client = await registerPublicClient(down);
  const result = await federatedFlow(down, {
    clientId: client.client_id,
    redirectUri: client.redirect_uris[0]!,
    scope: 'mcp:tools',
    resource,
    provider,
    upstreamUser,
  });
  return (await redeem(down, result, client.client_id, client.redirect_uris[0]!, resource)).access_token!;
}

async function vaultOf(server: TestAuthServer) {
  return tokenVault(server.storage.vault, (await loadVaultKeys(server.config))!);
}

beforeAll(async () => {
  const downPort = await freePort();
  const closedPort = await freePort();
  upstream = await startUpstreamAuthServer(downPort, { carol: ['admin'], dave: [] });
  fake = await startFakeUpstream({ clientId: 'down', user: { sub: '583231', name: 'The Octocat', preferred_username: 'octocat' } });
  const file = join(upstream.dir, 'vault-upstreams.json');
  await writeFile(
    file,
    JSON.stringify([
      upstream.provider({ storeTokens: true }),
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
      {
        id: 'gone',
        name: 'Gone',
        type: 'oauth2',
        authorizationUrl: `http://127.0.0.1:${closedPort}/authorize`,
        tokenUrl: `http://127.0.0.1:${closedPort}/token`,
        userinfoUrl: `http://127.0.0.1:${closedPort}/user`,
        clientId: 'down',
        clientSecret: 'gone-secret',
        storeTokens: true,
      },
    ]),
  );
  downEnv = {
    AUTH_PORT: String(downPort),
    AUTH_UPSTREAMS: file,
    RS_CLIENT_ID: RS.id,
    RS_CLIENT_SECRET: RS.secret,
    AUTH_EXTRA_RESOURCES: OTHER_RESOURCE,
  };
  down = await startAuthServer(downEnv);
});
afterAll(async () => {
  await down?.close();
  await upstream?.close();
  await fake?.close();
});

describe('the exchange (RFC 8693) of an MCP access token for the kept upstream token', () => {
  it('our AS as the OIDC upstream: the returned token is the upstream’s own and works at its userinfo; the row holds it sealed', async () => {
    const token = await mcpToken('ours');
    const { status, headers, body } = await exchange(token);
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toContain('no-store');
    expect(body).toMatchObject({ issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: expect.any(Number) });
    expect(body.expires_in).toBeGreaterThan(60);
    // Never the MCP client's token passed on.
    expect(body.access_token).not.toBe(token);
    const userinfo = await fetch(`${upstream.url}/me`, { headers: { authorization: `Bearer ${body.access_token}` } });
    expect(userinfo.status).toBe(200);
    const upstreamCarol = await upstream.storage.accounts.findByUsername('carol');
    expect(await userinfo.json()).toMatchObject({ sub: upstreamCarol!.id });

    const account = await down.storage.accounts.findByUsername('carol');
    const row = await down.storage.vault.get(account!.id, 'ours');
    expect(row!.sealed).not.toContain(body.access_token);
    expect(down.logs.join('')).not.toContain(body.access_token);
  });

  it('refreshes a kept token that has expired (our AS upstream), and the new one works', async () => {
    const token = await mcpToken('ours');
    const account = await down.storage.accounts.findByUsername('carol');
    const vault = await vaultOf(down);
    const kept = (await vault.load(account!.id, 'ours'))!;
    // Time passing, as the row would see it: the kept token's expiry is behind us.
    await vault.update(account!.id, 'ours', kept.version, { ...kept.tokens, expiresAt: Math.floor(Date.now() / 1000) - 10 });
    const { status, body } = await exchange(token);
    expect(status).toBe(200);
    expect(body.access_token).not.toBe(kept.tokens.accessToken);
    expect((await fetch(`${upstream.url}/me`, { headers: { authorization: `Bearer ${body.access_token}` } })).status).toBe(200);
    expect((await vault.load(account!.id, 'ours'))!.tokens.accessToken).toBe(body.access_token);
  });

  it('GitHub shape: an expiring token is refreshed at the upstream each time, with the rotated refresh token kept', async () => {
    fake.accessTokenTtl = 30; // inside the refresh margin: every exchange refreshes
    try {
      const token = await mcpToken('github');
      const before = fake.refreshes;
      const first = await exchange(token, { audience: 'github' });
      expect(first.status).toBe(200);
      const second = await exchange(token, { audience: 'github' });
      // The fake spends a refresh token on use: a second refresh works only with the rotated one.
      expect(second.status).toBe(200);
      expect(fake.refreshes).toBe(before + 2);
      expect(second.body.access_token).not.toBe(first.body.access_token);
      const user = await fetch(`${fake.url}/user`, { headers: { authorization: `Bearer ${second.body.access_token}` } });
      expect(await user.json()).toMatchObject({ id: 583231, login: 'octocat' });
    } finally {
      fake.accessTokenTtl = 300;
    }
  });

  it('parallel exchanges of an expiring token all succeed: one refresh at a time, each with the refresh token the last one kept', async () => {
    fake.accessTokenTtl = 30;
    try {
      const token = await mcpToken('github');
      const before = fake.refreshes;
      // Without the lease two refreshes would spend one rotating refresh token twice, and the fake refuses the second.
      const results = await Promise.all([1, 2, 3].map(() => exchange(token, { audience: 'github' })));
      expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(fake.refreshes).toBe(before + 3);
    } finally {
      fake.accessTokenTtl = 300;
    }
  });

  it('a refresh the upstream refuses (revoked): 400 invalid_grant naming it, the kept tokens are forgotten, other users and upstreams still work', async () => {
    fake.accessTokenTtl = 30;
    try {
      const github = await mcpToken('github');
      const ours = await mcpToken('ours');
      fake.revokeRefreshTokens();
      const refused = await exchange(github, { audience: 'github' });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_grant');
      expect(refused.body.error_description).toMatch(/GitHub refused to refresh the kept token .*sign in through GitHub again/);
      const again = await exchange(github, { audience: 'github' });
      expect(again.body.error_description).toMatch(/no GitHub token is kept for this user/);
      expect((await exchange(ours)).status).toBe(200);
      expect((await fetch(`${down.url}/healthz`)).status).toBe(200);
      // Signing in again keeps a new one.
      const fresh = await mcpToken('github');
      expect((await exchange(fresh, { audience: 'github' })).status).toBe(200);
    } finally {
      fake.accessTokenTtl = 300;
    }
  });
});

describe('an upstream that cannot be reached for a refresh', () => {
  it('answers 503 temporarily_unavailable naming it, and keeps the tokens for a later try', async () => {
    const carol = (await down.storage.accounts.findByUsername('carol'))!;
    const vault = await vaultOf(down);
    const expired = { accessToken: 'old', refreshToken: 'still-good', expiresAt: Math.floor(Date.now() / 1000) - 10, scope: undefined };
    await vault.save(carol.id, 'gone', expired);
    const token = await mcpToken('ours');
    const { status, body } = await exchange(token, { audience: 'gone' });
    expect(status).toBe(503);
    expect(body).toMatchObject({ error: 'temporarily_unavailable', error_description: expect.stringMatching(/Gone could not be reached/) });
    expect((await vault.load(carol.id, 'gone'))?.tokens).toEqual(expired);
  });
});

describe('refusals', () => {
  let token: string;
  beforeAll(async () => {
    token = await mcpToken('ours');
  });

  it('only the resource server’s client: another confidential client with the grant gets unauthorized_client, a wrong secret invalid_client', async () => {
    const registration = await postJson(`${down.url}/reg`, {
      client_name: 'Some other service',
      grant_types: [TOKEN_EXCHANGE],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    expect(registration.status).toBe(201);
    const other = (await registration.json()) as { client_id: string; client_secret: string };
    const refused = await exchange(token, {}, { id: other.client_id, secret: other.client_secret });
    expect(refused).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    expect(refused.body.error_description).toMatch(/only the resource server's own client/);
    expect(await exchange(token, {}, { id: RS.id, secret: 'wrong'.padEnd(40, 'x') })).toMatchObject({
      status: 401,
      body: { error: 'invalid_client' },
    });
  });

  it('refuses a subject token for another audience (a resource that is not the resource server’s)', async () => {
    const other = await mcpToken('ours', 'carol', OTHER_RESOURCE);
    expect(decodeJwt(other).aud).toBe(OTHER_RESOURCE);
    const refused = await exchange(other);
    expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(refused.body.error_description).toMatch(/not for this resource server's resource/);
  });

  it('refuses a forged signature, an expired token and a token that is not an access token', async () => {
    const claims = decodeJwt(token);
    const header = decodeProtectedHeader(token);
    const { privateKey: strangerKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: header.kid!, typ: 'at+jwt' }).sign(strangerKey);
    const ours = (await loadSigningKeys(down.signingKeys)).keys.find((k) => k.jwk.kid === header.kid)!.jwk;
    const key = await importJWK(ours, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    const sign = (payload: JWTPayload, typ = 'at+jwt') =>
      new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: ours.kid, typ }).sign(key);
    const expired = await sign({ ...claims, iat: now - 1200, exp: now - 600 });
    const idTokenShaped = await sign(claims, 'JWT');
    // The control case: the same key and claims are accepted, so the refusals are about what changed.
    expect((await exchange(await sign(claims))).status).toBe(200);
    for (const [bad, reason] of [
      [forged, /signature/],
      [expired, /"exp"/],
      [idTokenShaped, /typ/],
      ['not-a-jwt', /not a valid access token/],
    ] as const) {
      const refused = await exchange(bad);
      expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      expect(refused.body.error_description).toMatch(reason);
    }
  });

  it('no kept token (a user who signed in with a password): 400 invalid_grant saying so', async () => {
    await addUser(down, 'alice', [], PASSWORD);
    const client = await registerPublicClient(down);
    const tokens = await loginAndGetTokens(down, { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, username: 'alice' });
    const refused = await exchange(tokens.tokens.access_token);
    expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(refused.body.error_description).toMatch(/no Upstream AS token is kept for this user; sign in through Upstream AS again/);
  });

  it('refuses an audience that keeps no tokens, a resource instead of an audience, and a missing subject_token', async () => {
    expect(await exchange(token, { audience: 'gitlab' })).toMatchObject({ status: 400, body: { error: 'invalid_target' } });
    expect(await exchange(token, { resource: 'http://127.0.0.1:1/api' })).toMatchObject({ status: 400, body: { error: 'invalid_target' } });
    expect(await exchange('', {})).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    // An ID token's exchange (ID-JAG) is not on here: the one grant says what it takes.
    const idJag = await exchange(token, { subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' });
    expect(idJag).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(idJag.body.error_description).toContain(ACCESS_TOKEN_TYPE);
  });
});

describe('durability and keys', () => {
  it('a restart on the same files keeps the vault: the same MCP token still exchanges', async () => {
    const token = await mcpToken('ours');
    const dir = down.dir;
    await down.stop();
    down = await startAuthServer(downEnv, { dir });
    const { status, body } = await exchange(token);
    expect(status).toBe(200);
    expect((await fetch(`${upstream.url}/me`, { headers: { authorization: `Bearer ${body.access_token}` } })).status).toBe(200);
  });

  it('production needs AUTH_ENCRYPTION_KEY when an upstream keeps tokens, and loads nothing when none does', async () => {
    const base = { encryption: { key: undefined, previous: [] }, keysDir: join(down.dir, 'nowhere'), production: true };
    await expect(loadVaultKeys({ ...base, upstreams: down.config.upstreams })).rejects.toThrow(EncryptionKeyError);
    await expect(loadVaultKeys({ ...base, upstreams: down.config.upstreams })).rejects.toThrow(
      /AUTH_ENCRYPTION_KEY is required in production/,
    );
    expect(await loadVaultKeys({ ...base, upstreams: [] })).toBeUndefined();
    const key = randomBytes(32).toString('base64');
    expect(await loadVaultKeys({ ...base, encryption: { key, previous: [] }, upstreams: down.config.upstreams })).toMatchObject({
      previous: [],
    });
  });
});
