import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStorage } from './storage/postgres-store.ts';
import { openSqliteStorage } from './storage/sqlite-store.ts';
import { spawnAuthServer, type AuthProcess } from './testing/auth-process.ts';
import { authorize, freePort, postForm, RESOURCE, registerPublicClient } from './testing/harness.ts';
import { createTestSchema, type TestSchema } from './testing/postgres.ts';

/** What the server acknowledged to one simulated client, and what it had in flight at the kill. */
interface Acknowledged {
  clientId: string;
  registrationAccessToken: string;
  registrationUri: string;
  /** The last refresh token received in a 200. */
  refreshToken?: string;
  /** A refresh with `refreshToken` was sent and never answered. */
  refreshInFlight: boolean;
  /** The worker finished with this client: its refresh token can no longer be in flight. */
  done?: boolean;
}

const WORKERS = 6;
const KILL_AFTER_REFRESHES = 12;

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`kill -9 during a batch of flows, then restart (${kind})`, () => {
    let dir: string;
    let schema: TestSchema | undefined;
    let env: Record<string, string>;
    let port: number;
    let server: AuthProcess | undefined;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), `auth-crash-${kind}-`));
      port = await freePort();
      env = { KEYS_DIR: join(dir, 'keys'), DATA_DIR: join(dir, 'data'), AUTH_ISSUER: `http://127.0.0.1:${port}` };
      if (kind === 'postgres') {
        schema = await createTestSchema();
        env.DATABASE_URL = schema.url;
      }
      const storage = schema ? await openPostgresStorage(schema.url, { poolSize: 1 }) : openSqliteStorage(env.DATA_DIR!);
      await storage.accounts.add({ username: 'alice', password: 'correct horse battery staple' });
      await storage.close();
    });

    afterAll(async () => {
      await server?.stop('SIGKILL');
      await schema?.drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('every acknowledged client, grant and refresh token is still there and works', async () => {
      server = await spawnAuthServer(port, env);
      const url = server.url;
      const acknowledged: Acknowledged[] = [];
      let refreshes = 0;
      let dead = false;

      // Each worker is an MCP client doing register → login → code → refresh, refresh, … until the server dies.
      const worker = async () => {
        while (!dead) {
          const client = await registerPublicClient({ url }).catch(() => undefined);
          if (!client) return;
          const record: Acknowledged = {
            clientId: client.client_id,
            registrationAccessToken: client.registration_access_token,
            registrationUri: client.registration_client_uri,
            refreshInFlight: false,
          };
          acknowledged.push(record);
          const redirectUri = client.redirect_uris[0]!;
          const login = await authorize({ url }, { clientId: client.client_id, redirectUri }).catch(() => undefined);
          const code = login?.callback?.searchParams.get('code');
          if (!code) return;
          const first = await postForm(`${url}/token`, {
            grant_type: 'authorization_code',
            code,
            redirect_uri: redirectUri,
            client_id: client.client_id,
            code_verifier: login!.verifier,
            resource: RESOURCE,
          }).catch(() => undefined);
          if (first?.status !== 200) return;
          record.refreshToken = ((await first.json()) as { refresh_token: string }).refresh_token;
          for (let i = 0; i < 3; i++) {
            record.refreshInFlight = true;
            const next = await postForm(`${url}/token`, {
              grant_type: 'refresh_token',
              refresh_token: record.refreshToken,
              client_id: client.client_id,
            }).catch(() => undefined);
            if (next?.status !== 200) return;
            const body = (await next.json().catch(() => undefined)) as { refresh_token: string } | undefined;
            if (!body) return;
            record.refreshToken = body.refresh_token;
            record.refreshInFlight = false;
            refreshes++;
          }
          record.done = true;
        }
      };
      const workers = Array.from({ length: WORKERS }, worker);
      // Also wait for one finished client: on a loaded machine every worker can be mid-refresh at
      // any given moment, and a check over in-flight tokens alone would prove nothing.
      while (refreshes < KILL_AFTER_REFRESHES || !acknowledged.some((r) => r.done)) await sleep(5);
      await server.stop('SIGKILL');
      dead = true;
      await Promise.all(workers);

      server = await spawnAuthServer(port, env);
      const withToken = acknowledged.filter((r) => r.refreshToken);
      expect(acknowledged.length).toBeGreaterThanOrEqual(WORKERS);
      expect(withToken.length).toBeGreaterThanOrEqual(KILL_AFTER_REFRESHES / 3);

      // Every registered client is still registered (RFC 7592 read with its access token).
      for (const record of acknowledged) {
        const read = await fetch(record.registrationUri, { headers: { authorization: `Bearer ${record.registrationAccessToken}` } });
        expect(read.status, record.clientId).toBe(200);
      }
      // Every refresh token the server handed out and the client had not spent works: grant and token survived.
      const unspent = withToken.filter((r) => !r.refreshInFlight);
      expect(unspent.length).toBeGreaterThan(0);
      for (const record of unspent) {
        const response = await postForm(`${url}/token`, {
          grant_type: 'refresh_token',
          refresh_token: record.refreshToken!,
          client_id: record.clientId,
        });
        expect(response.status, record.clientId).toBe(200);
      }
      // A refresh cut off by the kill may or may not have been committed; its retry within the
      // grace window gets the committed answer or a clean refusal, never a server error.
      const retries = await Promise.all(
        withToken
          .filter((r) => r.refreshInFlight)
          .map((r) => postForm(`${url}/token`, { grant_type: 'refresh_token', refresh_token: r.refreshToken!, client_id: r.clientId })),
      );
      for (const response of retries) expect([200, 400]).toContain(response.status);
      // A token that never existed is still refused: the checks above are not vacuous.
      const bogus = await postForm(`${url}/token`, {
        grant_type: 'refresh_token',
        refresh_token: 'not-a-token',
        client_id: acknowledged[0]!.clientId,
      });
      expect(bogus.status).toBe(400);
    }, 60_000);
  });
}
