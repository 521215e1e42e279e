import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postForm, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

let server: TestAuthServer;
beforeAll(async () => {
  server = await startAuthServer();
});
afterAll(() => server?.close());

const expectClientError = (response: Response) => {
  expect(response.status, `${response.url} → ${response.status}`).toBeGreaterThanOrEqual(400);
  expect(response.status, `${response.url} → ${response.status}`).toBeLessThan(500);
};

describe('bad input gets a 4xx in the protocol’s own shape, never a 5xx', () => {
  it('garbage cookies on every browser route', async () => {
    const client = await registerPublicClient(server);
    const cookie = '_session=garbage; _session.sig=garbage; _interaction=x; _interaction.sig=%%%; _interaction_resume=\u00ff';
    const auth = await fetch(
      `${server.url}/auth?client_id=${client.client_id}&response_type=code&redirect_uri=${encodeURIComponent(client.redirect_uris[0]!)}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256&scope=mcp:tools`,
      {
        headers: { cookie },
        redirect: 'manual',
      },
    );
    expect(auth.status).toBe(303); // a fresh interaction: garbage cookies are ignored
    for (const path of ['/interaction/abc', '/auth/abc', '/session/end', '/device']) {
      const response = await fetch(`${server.url}${path}`, { headers: { cookie }, redirect: 'manual' });
      expect(response.status, path).toBeLessThan(500);
    }
    const post = await postForm(`${server.url}/interaction/abc/login`, { username: 'a', password: 'b', csrf: 'c' }, { cookie });
    expectClientError(post);
  });

  it('token endpoint: unknown grant type, missing parameters, JSON body, huge body, wrong method', async () => {
    const unknown = await postForm(`${server.url}/token`, { grant_type: 'password', username: 'a', password: 'b', client_id: 'x' });
    expectClientError(unknown);
    expect(await unknown.json()).toHaveProperty('error');
    const missing = await postForm(`${server.url}/token`, {});
    expectClientError(missing);
    expect(await missing.json()).toMatchObject({ error: 'invalid_request' });
    const json = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"grant_type":"client_credentials"}',
    });
    expectClientError(json);
    const huge = await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: 'x'.repeat(100_000) });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: 'invalid_request' });
    const get = await fetch(`${server.url}/token`);
    expectClientError(get);
  });

  it('authorization endpoint: no parameters, unknown client, bad response_type', async () => {
    const empty = await fetch(`${server.url}/auth`, { redirect: 'manual' });
    expect(empty.status).toBe(400);
    expect(empty.headers.get('content-type')).toContain('text/html');
    const unknown = await fetch(`${server.url}/auth?client_id=nope&response_type=code`, { redirect: 'manual' });
    expect(unknown.status).toBe(400);
    const client = await registerPublicClient(server);
    const badType = await fetch(
      `${server.url}/auth?client_id=${client.client_id}&response_type=token&redirect_uri=${encodeURIComponent(client.redirect_uris[0]!)}`,
      { redirect: 'manual' },
    );
    expect(badType.status).toBeLessThan(500);
  });

  it('userinfo, revocation and introspection with garbage credentials', async () => {
    expectClientError(await fetch(`${server.url}/me`, { headers: { authorization: 'Bearer garbage' } }));
    expectClientError(await fetch(`${server.url}/me`, { headers: { authorization: 'Basic %%%' } }));
    expectClientError(await postForm(`${server.url}/token/revocation`, { token: 'x' }));
    expectClientError(await postForm(`${server.url}/token/introspection`, { token: 'x' }, { authorization: 'Basic bm9wZTpub3Bl' }));
  });

  it('unknown paths get 404', async () => {
    const response = await fetch(`${server.url}/nothing-here`);
    expect(response.status).toBe(404);
  });
});

describe('device pages without a live sign-in', () => {
  it('answer 400 with the error page, not oidc-provider’s 500 (unsaved session persisted)', async () => {
    for (const cookie of [undefined, '_interaction_resume=abc; _interaction_resume.sig=forged']) {
      const response = await fetch(`${server.url}/device/some-uid`, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('Connect a device');
    }
    const post = await fetch(`${server.url}/device`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      body: 'x',
    });
    expect(post.status).toBe(400);
  });
});
