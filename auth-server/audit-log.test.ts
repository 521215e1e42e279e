import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  addUser,
  authorize,
  loginAndGetTokens,
  postForm,
  registerPublicClient,
  startAuthServer,
  type TestAuthServer,
} from './testing/harness.ts';

let server: TestAuthServer;
beforeAll(async () => {
  server = await startAuthServer();
  await addUser(server);
});
afterAll(() => server?.close());

const events = () => server.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l.audit);

describe('audit log', () => {
  it('writes one structured line per security event, with subject, client and ip, and never a secret', async () => {
    const client = await registerPublicClient(server);
    await authorize(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, password: 'wrong password!' });
    const { tokens } = await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
    const refreshed = (await (
      await postForm(`${server.url}/token`, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token!,
        client_id: client.client_id,
      })
    ).json()) as Record<string, string>;
    await postForm(`${server.url}/token/revocation`, { token: refreshed.refresh_token!, client_id: client.client_id });
    await authorize(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, decision: 'deny', scope: 'mcp:admin' });

    const seen = events();
    const names = new Set(seen.map((e) => e.event));
    for (const name of [
      'registration_create.success',
      'login.failed',
      'login.success',
      'consent.given',
      'consent.denied',
      'grant.success',
      'refresh_token.consumed',
      'grant.revoked',
    ]) {
      expect(names, name).toContain(name);
    }
    const login = seen.find((e) => e.event === 'login.success')!;
    expect(login).toMatchObject({ client_id: client.client_id, ip: '127.0.0.1', sub: expect.any(String) });
    const failed = seen.find((e) => e.event === 'login.failed')!;
    expect(failed).toMatchObject({ username: 'alice', ip: '127.0.0.1' });

    const everything = server.logs.join('\n');
    for (const secret of [
      tokens.access_token,
      tokens.refresh_token!,
      refreshed.access_token!,
      refreshed.refresh_token!,
      client.registration_access_token,
      'correct horse battery staple',
      'wrong password!',
    ]) {
      expect(everything).not.toContain(secret);
    }
    expect(everything).not.toMatch(/"(cookie|authorization)":"[^[]/i);
  });

  it('names the username next to every sub (login, consent, tokens, refresh, revocation, denial)', async () => {
    const client = await registerPublicClient(server);
    const { tokens } = await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
    const refreshed = (await (
      await postForm(`${server.url}/token`, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token!,
        client_id: client.client_id,
      })
    ).json()) as Record<string, string>;
    await postForm(`${server.url}/token/revocation`, { token: refreshed.refresh_token!, client_id: client.client_id });
    await authorize(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, decision: 'deny', scope: 'mcp:admin' });

    const mine = () => events().filter((e) => e.client_id === client.client_id && e.sub);
    // Lines whose account the request did not load (revocation) are written after a lookup.
    await vi.waitFor(() => expect(mine().map((e) => e.event)).toContain('refresh_token.destroyed'));
    const names = new Set(mine().map((e) => e.event));
    for (const name of [
      'login.success',
      'consent.given',
      'consent.denied',
      'grant.success',
      'refresh_token.consumed',
      'refresh_token.destroyed',
    ])
      expect(names, name).toContain(name);
    for (const line of mine()) expect(line, String(line.event)).toMatchObject({ sub: expect.any(String), username: 'alice' });
  });
});
