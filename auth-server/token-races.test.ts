import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addUser,
  authorize,
  loginAndGetTokens,
  postForm,
  RESOURCE,
  registerPublicClient,
  startAuthServer,
  type StoreKind,
  type TestAuthServer,
} from './testing/harness.ts';

const GRACE_SECONDS = 2;

for (const kind of ['sqlite', 'postgres'] as const satisfies StoreKind[]) {
  describe(`token request races (${kind})`, () => {
    let server: TestAuthServer;
    let strict: TestAuthServer;

    beforeAll(async () => {
      [server, strict] = await Promise.all([
        startAuthServer({ AUTH_RATE_LIMITS: 'off', AUTH_REFRESH_GRACE_SECONDS: String(GRACE_SECONDS) }, { store: kind }),
        startAuthServer({ AUTH_RATE_LIMITS: 'off', AUTH_REFRESH_GRACE_SECONDS: '0' }, { store: kind }),
      ]);
      await Promise.all([addUser(server), addUser(strict)]);
    });
    afterAll(async () => {
      await server?.close();
      await strict?.close();
    });

    async function freshTokens(on = server) {
      const client = await registerPublicClient(on);
      const { tokens } = await loginAndGetTokens(on, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
      return { client, tokens, refreshToken: tokens.refresh_token! };
    }
    const refresh = (clientId: string, refreshToken: string, on = server, extra: Record<string, string> = {}) =>
      postForm(`${on.url}/token`, {
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: clientId,
        resource: RESOURCE,
        ...extra,
      });
    const answer = async (response: Response) => ({ status: response.status, body: (await response.json()) as Record<string, string> });

    it('two parallel refreshes with one token both get 200 and the same successor, which works', async () => {
      const { client, refreshToken } = await freshTokens();
      const [a, b] = (await Promise.all(
        [refresh(client.client_id, refreshToken), refresh(client.client_id, refreshToken)].map(async (r) => answer(await r)),
      )) as [Awaited<ReturnType<typeof answer>>, Awaited<ReturnType<typeof answer>>];
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      expect(b.body).toEqual(a.body);
      expect(a.body.refresh_token).not.toBe(refreshToken);

      const next = await answer(await refresh(client.client_id, a.body.refresh_token!));
      expect(next.status).toBe(200);
      expect(next.body.refresh_token).not.toBe(a.body.refresh_token);
    });

    it('five parallel refreshes with one token all get the same successor', async () => {
      const { client, refreshToken } = await freshTokens();
      const results = await Promise.all(Array.from({ length: 5 }, async () => answer(await refresh(client.client_id, refreshToken))));
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(new Set(results.map((r) => r.body.refresh_token)).size).toBe(1);
    });

    it('without a grace window, the parallel duplicate is reuse: invalid_grant and the grant is revoked', async () => {
      const { client, refreshToken } = await freshTokens(strict);
      const results = await Promise.all(
        [refresh(client.client_id, refreshToken, strict), refresh(client.client_id, refreshToken, strict)].map(async (r) =>
          answer(await r),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
      const winner = results.find((r) => r.status === 200)!;
      expect(results.find((r) => r.status === 400)!.body.error).toBe('invalid_grant');
      expect((await refresh(client.client_id, winner.body.refresh_token!, strict)).status).toBe(400);
    });

    it('real reuse after the grace window still revokes the grant (RFC 9700 §4.14.2)', async () => {
      const { client, refreshToken } = await freshTokens();
      const first = await answer(await refresh(client.client_id, refreshToken));
      expect(first.status).toBe(200);
      await sleep(GRACE_SECONDS * 1000 + 200);
      const reuse = await answer(await refresh(client.client_id, refreshToken));
      expect(reuse.status).toBe(400);
      expect(reuse.body.error).toBe('invalid_grant');
      expect(reuse.body.access_token).toBeUndefined();
      const successor = await answer(await refresh(client.client_id, first.body.refresh_token!));
      expect(successor.status).toBe(400);
      expect(successor.body.error).toBe('invalid_grant');
    });

    it('another client presenting the token within the window gets invalid_grant, not the replay', async () => {
      const { client, refreshToken } = await freshTokens();
      const other = await registerPublicClient(server);
      const first = await answer(await refresh(client.client_id, refreshToken));
      expect(first.status).toBe(200);
      const stolen = await answer(await refresh(other.client_id, refreshToken));
      expect(stolen.status).toBe(400);
      expect(stolen.body).toMatchObject({ error: 'invalid_grant' });
      expect(JSON.stringify(stolen.body)).not.toContain(first.body.refresh_token!);
      // The owner's grant is untouched: a client mismatch is not reuse.
      expect((await refresh(client.client_id, first.body.refresh_token!)).status).toBe(200);
    });

    it('a duplicate asking for a different scope is not replayed', async () => {
      const { client, refreshToken } = await freshTokens();
      const first = await answer(await refresh(client.client_id, refreshToken));
      expect(first.status).toBe(200);
      const narrower = await answer(await refresh(client.client_id, refreshToken, server, { scope: 'openid' }));
      expect(narrower.status).toBe(400);
      expect(narrower.body.access_token).toBeUndefined();
    });

    it('five parallel redemptions of one authorization code give exactly one 200', async () => {
      const client = await registerPublicClient(server);
      const redirectUri = client.redirect_uris[0]!;
      const { callback, verifier } = await authorize(server, { clientId: client.client_id, redirectUri });
      const code = callback!.searchParams.get('code')!;
      const redeem = () =>
        postForm(`${server.url}/token`, {
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          client_id: client.client_id,
          code_verifier: verifier,
          resource: RESOURCE,
        });
      const results = await Promise.all(Array.from({ length: 5 }, async () => answer(await redeem())));
      expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400, 400, 400]);
      for (const loser of results.filter((r) => r.status === 400)) expect(loser.body.error).toBe('invalid_grant');
    });

    it('a single redemption of a code still works and its refresh token is usable (no false positives)', async () => {
      const { client, refreshToken } = await freshTokens();
      expect((await refresh(client.client_id, refreshToken)).status).toBe(200);
    });
  });
}
