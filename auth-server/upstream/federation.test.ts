import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from '../testing/browser.ts';
import { Browsers, federatedFlow, redeem, startUpstreamAuthServer, type UpstreamAuthServer } from '../testing/federated-sign-in.ts';
import { startFakeUpstream, type FakeUpstream } from '../testing/fake-upstream.ts';
import { addUser, freePort, pkcePair, RESOURCE, registerPublicClient, startAuthServer, type TestAuthServer } from '../testing/harness.ts';

/**
 * Sign-in through an upstream identity provider, end to end: our own auth server plays the
 * upstream (a second in-process server on 127.0.0.1, so its cookies are not the downstream's on
 * localhost), a fake jose-signed OIDC server plays a misbehaving one, and the same fake serves the
 * GitHub-shaped plain OAuth 2 provider.
 */
const PASSWORD = 'correct horse battery staple';

let upstream: UpstreamAuthServer;
let fake: FakeUpstream;
let down: TestAuthServer;
let downPort: number;

/** Starts the downstream with these providers; a previous downstream is closed first. */
async function startDownstream(providers: unknown[], env: Record<string, string> = {}) {
  await down?.close();
  const file = join(upstream.dir, `upstreams-${randomBytes(4).toString('hex')}.json`);
  await writeFile(file, JSON.stringify(providers));
  down = await startAuthServer({ AUTH_PORT: String(downPort), AUTH_UPSTREAMS: file, ...env });
  return down;
}

function fakeOidc(extra: Record<string, unknown> = {}) {
  return { id: 'fake', name: 'Fake IdP', type: 'oidc', issuer: fake.url, clientId: 'down', clientSecret: 'fake-secret', ...extra };
}

function fakeGithub(extra: Record<string, unknown> = {}) {
  return {
    id: 'github',
    name: 'GitHub',
    type: 'oauth2',
    authorizationUrl: `${fake.url}/authorize`,
    tokenUrl: `${fake.url}/token`,
    userinfoUrl: `${fake.url}/user`,
    clientId: 'down',
    clientSecret: 'fake-secret',
    scopes: ['read:user', 'user:email'],
    ...extra,
  };
}

beforeAll(async () => {
  downPort = await freePort();
  upstream = await startUpstreamAuthServer(downPort, { carol: ['admin'], dave: [] });
  fake = await startFakeUpstream({
    clientId: 'down',
    user: { sub: '4242', email: 'erin@corp.example', email_verified: true, name: 'Erin', preferred_username: 'erin' },
  });
});
afterAll(async () => {
  await down?.close();
  await upstream?.close();
  await fake?.close();
});

describe('sign-in through an upstream OpenID provider (our own auth server as the upstream)', () => {
  beforeAll(async () => {
    await startDownstream([upstream.provider({ roles: { claim: 'roles', map: { admin: ['admin'] } } })]);
  });

  it('creates the account just in time: the token’s sub is it, its roles are mapped, the ID token carries the upstream’s name and email', async () => {
    const client = await registerPublicClient(down);
    const result = await federatedFlow(down, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      scope: 'openid profile email mcp:tools',
      resource: RESOURCE,
      provider: 'ours',
    });
    const tokens = await redeem(down, result, client.client_id, client.redirect_uris[0]!, RESOURCE);
    const { payload } = await jwtVerify(tokens.access_token!, createRemoteJWKSet(new URL(`${down.url}/jwks`)), {
      issuer: down.url,
      audience: RESOURCE,
    });
    const account = await down.storage.accounts.findByUsername('carol');
    expect(account).toMatchObject({ name: 'Carol', email: 'carol@example.com' });
    expect(payload.sub).toBe(account!.id);
    expect(payload.roles).toEqual(['user', 'admin']);
    const upstreamCarol = await upstream.storage.accounts.findByUsername('carol');
    expect(await down.storage.accounts.findLink('ours', upstreamCarol!.id)).toMatchObject({ accountId: account!.id, createdAccount: true });
    expect(decodeJwt(tokens.id_token!)).toMatchObject({ sub: account!.id, name: 'Carol', email: 'carol@example.com' });
  });

  it('a second sign-in of the same person reuses the linked account, and OIDC scopes alone give a userinfo token with their name and email', async () => {
    const client = await registerPublicClient(down);
    const before = await down.storage.accounts.count();
    const result = await federatedFlow(down, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      scope: 'openid profile email',
      provider: 'ours',
    });
    const tokens = await redeem(down, result, client.client_id, client.redirect_uris[0]!);
    expect(await down.storage.accounts.count()).toBe(before);
    const userinfo = await fetch(`${down.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(userinfo.status).toBe(200);
    const account = await down.storage.accounts.findByUsername('carol');
    expect(await userinfo.json()).toMatchObject({ sub: account!.id, name: 'Carol', email: 'carol@example.com' });
  });

  it('makes the username unique when a local account already has it', async () => {
    await addUser(down, 'dave', [], PASSWORD);
    const client = await registerPublicClient(down);
    const result = await federatedFlow(down, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      scope: 'mcp:tools',
      resource: RESOURCE,
      provider: 'ours',
      upstreamUser: 'dave',
    });
    const tokens = await redeem(down, result, client.client_id, client.redirect_uris[0]!, RESOURCE);
    const federated = await down.storage.accounts.findByUsername('dave-2');
    expect(decodeJwt(tokens.access_token!).sub).toBe(federated!.id);
    expect(federated!.roles).toEqual(['user']);
  });

  it('a disabled linked account stays refused, with a friendly page', async () => {
    await down.storage.accounts.setDisabled('carol', true);
    try {
      const client = await registerPublicClient(down);
      const result = await federatedFlow(down, {
        clientId: client.client_id,
        redirectUri: client.redirect_uris[0]!,
        scope: 'mcp:tools',
        provider: 'ours',
      });
      expect(result.callback).toBeUndefined();
      expect(result.status).toBe(403);
      expect(result.html).toContain('account_disabled');
      expect(result.html).toContain('Try again');
    } finally {
      await down.storage.accounts.setDisabled('carol', false);
    }
  });

  it('shows one "Continue with" link per provider above the password form', async () => {
    const client = await registerPublicClient(down);
    const { challenge } = pkcePair();
    const browsers = new Browsers();
    const params = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0]!,
      response_type: 'code',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: 'mcp:tools',
    });
    const { response } = await browsers.follow(await browsers.get(`${down.url}/auth?${params}`), client.redirect_uris[0]!);
    const html = await response.text();
    expect(html).toContain('Continue with Upstream AS');
    expect(html.indexOf('Continue with Upstream AS')).toBeLessThan(html.indexOf('name="password"'));
    expect(html).toContain('<h1>Sign in</h1>');
    expect(html).toContain('name="username"');
  });
});

describe('refused upstream answers (a fake OIDC upstream signing with jose)', () => {
  beforeAll(async () => {
    await startDownstream([fakeOidc(), fakeOidc({ id: 'corp', name: 'Corp', allowedEmailDomains: ['corp.example'] })]);
  });

  async function viaFake(provider = 'fake') {
    const client = await registerPublicClient(down);
    return federatedFlow(down, { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, scope: 'mcp:tools', provider });
  }

  function restore() {
    fake.idToken = (claims) => claims;
    fake.authorizeExtra = {};
    fake.user = { sub: '4242', email: 'erin@corp.example', email_verified: true, name: 'Erin', preferred_username: 'erin' };
  }

  it('signs in when every check passes (the control case), and an allowed email domain is accepted', async () => {
    restore();
    expect((await viaFake()).callback?.searchParams.get('code')).toBeTruthy();
    expect((await viaFake('corp')).callback?.searchParams.get('code')).toBeTruthy();
  });

  it.each([
    ['from the wrong issuer', { iss: 'http://127.0.0.1:1' }],
    ['for another audience', { aud: 'someone-else' }],
    ['with a wrong nonce', { nonce: 'not-the-nonce' }],
    ['that has expired', { exp: Math.floor(Date.now() / 1000) - 600, iat: Math.floor(Date.now() / 1000) - 900 }],
  ])('refuses an ID token %s and signs nobody in', async (_label, override) => {
    restore();
    fake.idToken = (claims) => ({ ...claims, ...override });
    const accounts = await down.storage.accounts.count();
    const result = await viaFake();
    restore();
    expect(result.callback).toBeUndefined();
    expect(result.status).toBe(400);
    expect(result.html).toContain('invalid_upstream_response');
    expect(await down.storage.accounts.count()).toBe(accounts);
  });

  it('refuses an RFC 9207 iss in the authorization response that is not the upstream’s', async () => {
    restore();
    fake.authorizeExtra = { iss: 'http://evil.example' };
    const result = await viaFake();
    restore();
    expect(result.status).toBe(400);
    expect(result.html).toContain('invalid_upstream_response');
  });

  it('refuses an email outside allowedEmailDomains, and an unverified one inside them', async () => {
    restore();
    fake.user = { ...fake.user, sub: 'outsider', email: 'mallory@elsewhere.example' };
    const outside = await viaFake('corp');
    fake.user = { ...fake.user, sub: 'unverified', email: 'mallory@corp.example', email_verified: false };
    const unverified = await viaFake('corp');
    restore();
    for (const result of [outside, unverified]) {
      expect(result.status).toBe(403);
      expect(result.html).toContain('email_domain_not_allowed');
    }
    expect(await down.storage.accounts.findLink('corp', 'outsider')).toBeUndefined();
  });

  it('shows the upstream’s error on a friendly page whose “Try again” returns to the same sign-in', async () => {
    restore();
    fake.authorizeExtra = { error: 'access_denied', error_description: 'The user said no' };
    const result = await viaFake();
    restore();
    expect(result.status).toBe(400);
    expect(result.html).toContain('The user said no');
    const retry = /href="([^"]*\/interaction\/[^"]+)"/.exec(result.html!)![1]!;
    const again = await result.browsers.get(new URL(retry, down.url).href);
    expect(again.status).toBe(200);
    expect(await again.text()).toContain('Continue with Fake IdP');
  });

  it('refuses a callback whose state is not the one this browser started with, and one replayed', async () => {
    restore();
    const client = await registerPublicClient(down);
    const { challenge } = pkcePair();
    const browsers = new Browsers();
    const params = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0]!,
      response_type: 'code',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: 'mcp:tools',
    });
    const { response, url } = await browsers.follow(await browsers.get(`${down.url}/auth?${params}`), client.redirect_uris[0]!);
    const html = await response.text();
    const start = /href="([^"]*\/upstream\/fake)"/.exec(html)![1]!;
    const toUpstream = await browsers.get(new URL(start, url).href);
    const authorizeUrl = new URL(toUpstream.headers.get('location')!);
    const approved = await fetch(authorizeUrl, { redirect: 'manual' });
    const callback = new URL(approved.headers.get('location')!);

    const wrong = new URL(callback);
    wrong.searchParams.set('state', 'forged-state');
    const forged = await browsers.get(wrong.href);
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain('invalid_state');
    // Another browser with the right state but without the cookie of the one that started.
    const stranger = await new TestBrowser().get(callback.href);
    expect(stranger.status).toBe(400);

    const first = await browsers.get(callback.href);
    expect(first.status).toBe(303);
    const replay = await browsers.get(callback.href);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('invalid_state');
  });
});

describe('a plain OAuth 2 provider in the GitHub shape', () => {
  beforeAll(async () => {
    await startDownstream([fakeGithub()]);
  });

  it('signs in through the userinfo document: id, login, name and email map onto a new account', async () => {
    fake.user = { sub: '583231', email: 'octo@github.example', name: 'The Octocat', preferred_username: 'octocat' };
    const client = await registerPublicClient(down);
    const result = await federatedFlow(down, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      scope: 'mcp:tools',
      resource: RESOURCE,
      provider: 'github',
    });
    const tokens = await redeem(down, result, client.client_id, client.redirect_uris[0]!, RESOURCE);
    const account = await down.storage.accounts.findByUsername('octocat');
    expect(account).toMatchObject({ name: 'The Octocat', email: 'octo@github.example', roles: ['user'] });
    expect(decodeJwt(tokens.access_token!).sub).toBe(account!.id);
    expect(await down.storage.accounts.findLink('github', '583231')).toMatchObject({ accountId: account!.id });
  });
});

describe('an upstream that is down', () => {
  it('gets a friendly page while the auth server keeps serving, and password sign-in still works', async () => {
    const closedPort = await freePort();
    await startDownstream([{ ...fakeOidc(), id: 'down', name: 'Gone IdP', issuer: `http://127.0.0.1:${closedPort}` }]);
    await addUser(down, 'alice', [], PASSWORD);
    const client = await registerPublicClient(down);
    const result = await federatedFlow(down, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      scope: 'mcp:tools',
      provider: 'down',
    });
    expect(result.status).toBe(502);
    expect(result.html).toContain('Gone IdP is not answering');
    expect((await fetch(`${down.url}/healthz`)).status).toBe(200);
    const { callback } = await federatedFlow(down, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      scope: 'mcp:tools',
      provider: 'nothing-to-click',
      upstreamUser: 'alice',
    });
    expect(callback?.searchParams.get('code')).toBeTruthy();
  });
});

describe('AUTH_LOCAL_LOGIN=off', () => {
  it('hides the password form, refuses password posts, and sends a lone provider’s users straight to it', async () => {
    await startDownstream([fakeOidc()], { AUTH_LOCAL_LOGIN: 'off' });
    const client = await registerPublicClient(down);
    const { challenge } = pkcePair();
    const params = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0]!,
      response_type: 'code',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: 'mcp:tools',
    });
    const browser = new TestBrowser();
    const toInteraction = await browser.get(`${down.url}/auth?${params}`);
    const interaction = new URL(toInteraction.headers.get('location')!, down.url).href;
    const page = await browser.get(interaction);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toMatch(/\/upstream\/fake$/);
    const posted = await browser.postForm(`${interaction}/login`, { csrf: 'x', username: 'alice', password: PASSWORD });
    expect([403, 400]).toContain(posted.status);

    await startDownstream([fakeOidc(), fakeGithub()], { AUTH_LOCAL_LOGIN: 'off' });
    const client2 = await registerPublicClient(down);
    const browser2 = new TestBrowser();
    params.set('client_id', client2.client_id);
    params.set('redirect_uri', client2.redirect_uris[0]!);
    const { response } = await browser2.follow(await browser2.get(`${down.url}/auth?${params}`));
    const html = await response.text();
    expect(html).toContain('Continue with Fake IdP');
    expect(html).toContain('Continue with GitHub');
    expect(html).not.toContain('name="password"');
  });
});
