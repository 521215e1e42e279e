import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDemoAccount } from './demo-user.ts';
import { openPostgresStorage } from './storage/postgres-store.ts';
import type { Storage } from './storage/store.ts';
import { spawnAuthServer, type AuthProcess } from './testing/auth-process.ts';
import { authorize, freePort, postForm, RESOURCE, registerPublicClient } from './testing/harness.ts';
import { createTestSchema, type TestSchema } from './testing/postgres.ts';

const GRACE_SECONDS = 1;
const RS_CLIENT = { id: 'mcp-resource-server', secret: 'a-test-secret-of-at-least-32-characters!' };

describe('two auth-server processes sharing PostgreSQL (behind one issuer URL)', () => {
  let dir: string;
  let schema: TestSchema;
  let storage: Storage;
  let a: AuthProcess;
  let b: AuthProcess;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-multi-'));
    schema = await createTestSchema();
    // One KEYS_DIR (a volume in production): the two first starts race to make the keys and agree
    // on one set (the key file is written compare-and-set, keys/signing-key-store.ts).
    const [portA, portB] = [await freePort(), await freePort()];
    const env = {
      DATABASE_URL: schema.url,
      DATABASE_POOL_SIZE: '4',
      KEYS_DIR: join(dir, 'keys'),
      AUTH_ISSUER: `http://localhost:${portA}`,
      AUTH_REFRESH_GRACE_SECONDS: String(GRACE_SECONDS),
      // The resource server's client, the one that may introspect other clients' tokens; both
      // instances upsert it at start, concurrently.
      RS_CLIENT_ID: RS_CLIENT.id,
      RS_CLIENT_SECRET: RS_CLIENT.secret,
    };
    // Both start at once on an empty schema: migrations and the demo account must not collide.
    [a, b] = await Promise.all([
      spawnAuthServer(portA, { ...env, DATA_DIR: join(dir, 'a') }),
      spawnAuthServer(portB, { ...env, DATA_DIR: join(dir, 'b') }),
    ]);
    storage = await openPostgresStorage(schema.url, { poolSize: 1 });
    await storage.accounts.add({ username: 'alice', password: 'correct horse battery staple' });
  }, 40_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await storage?.close();
    await schema?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const json = async (response: Response) => ({ status: response.status, body: (await response.json()) as Record<string, any> });

  async function codeOnA(clientId: string, redirectUri: string) {
    const { callback, verifier } = await authorize({ url: a.url }, { clientId, redirectUri });
    const code = callback?.searchParams.get('code');
    if (!code) throw new Error('no code');
    const form = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: clientId,
      code_verifier: verifier,
      resource: RESOURCE,
    };
    return form;
  }

  it('started together without a collision, and only one printed a demo account', () => {
    const printed = [a.output(), b.output()].filter((o) => parseDemoAccount(o));
    expect(printed).toHaveLength(1);
  });

  it('register on A, log in on A, token on B, refresh on A, revoke on B, introspect on A', async () => {
    const client = await registerPublicClient({ url: a.url });
    const redirectUri = client.redirect_uris[0]!;
    const form = await codeOnA(client.client_id, redirectUri);

    const tokens = await json(await postForm(`${b.url}/token`, form));
    expect(tokens.status).toBe(200);
    const claims = JSON.parse(Buffer.from(tokens.body.access_token.split('.')[1], 'base64url').toString());
    expect(claims.iss).toBe(`http://localhost:${new URL(a.url).port}`);
    expect(claims.aud).toBe(RESOURCE);

    const refreshed = await json(
      await postForm(`${a.url}/token`, {
        grant_type: 'refresh_token',
        refresh_token: tokens.body.refresh_token,
        client_id: client.client_id,
      }),
    );
    expect(refreshed.status).toBe(200);

    // The resource server's client (provisioned by both instances) introspects on A.
    const basic = `Basic ${Buffer.from(`${RS_CLIENT.id}:${RS_CLIENT.secret}`).toString('base64')}`;
    const introspect = async () =>
      (await json(await postForm(`${a.url}/token/introspection`, { token: refreshed.body.refresh_token }, { authorization: basic }))).body;
    expect(await introspect()).toMatchObject({ active: true, client_id: client.client_id });

    const revoke = await postForm(`${b.url}/token/revocation`, { token: refreshed.body.refresh_token, client_id: client.client_id });
    expect(revoke.status).toBe(200);
    expect(await introspect()).toEqual({ active: false });
    const after = await json(
      await postForm(`${a.url}/token`, {
        grant_type: 'refresh_token',
        refresh_token: refreshed.body.refresh_token,
        client_id: client.client_id,
      }),
    );
    expect(after.status).toBe(400);
    expect(after.body.error).toBe('invalid_grant');
  });

  it('parallel refreshes of one token on A and on B get the same successor', async () => {
    const client = await registerPublicClient({ url: b.url });
    const tokens = await json(await postForm(`${a.url}/token`, await codeOnA(client.client_id, client.redirect_uris[0]!)));
    const form = { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: client.client_id };
    const results = await Promise.all([a, b, a, b].map(async (server) => json(await postForm(`${server.url}/token`, form))));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(results.map((r) => r.body.refresh_token)).size).toBe(1);
    const next = await json(await postForm(`${b.url}/token`, { ...form, refresh_token: results[0]!.body.refresh_token }));
    expect(next.status).toBe(200);
  });

  it('one authorization code redeemed six times at once across A and B gives exactly one 200', async () => {
    const client = await registerPublicClient({ url: a.url });
    const form = await codeOnA(client.client_id, client.redirect_uris[0]!);
    const results = await Promise.all([a, b, a, b, a, b].map(async (server) => json(await postForm(`${server.url}/token`, form))));
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400, 400, 400, 400]);
  });

  it('a refresh token reused on B after the grace window revokes the grant on A too', async () => {
    const client = await registerPublicClient({ url: a.url });
    const tokens = await json(await postForm(`${b.url}/token`, await codeOnA(client.client_id, client.redirect_uris[0]!)));
    const form = { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: client.client_id };
    const first = await json(await postForm(`${a.url}/token`, form));
    expect(first.status).toBe(200);
    await sleep(GRACE_SECONDS * 1000 + 200);
    const reuse = await json(await postForm(`${b.url}/token`, form));
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toBe('invalid_grant');
    const successor = await json(await postForm(`${a.url}/token`, { ...form, refresh_token: first.body.refresh_token }));
    expect(successor.status).toBe(400);
  });

  it("another client's attempt on A neither gets the replay nor burns the owner's grant on B", async () => {
    const client = await registerPublicClient({ url: a.url });
    const tokens = await json(await postForm(`${b.url}/token`, await codeOnA(client.client_id, client.redirect_uris[0]!)));
    const form = { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: client.client_id };
    const first = await json(await postForm(`${b.url}/token`, form));
    expect(first.status).toBe(200);
    const other = await registerPublicClient({ url: a.url });
    const stolen = await json(await postForm(`${a.url}/token`, { ...form, client_id: other.client_id }));
    expect(stolen.status).toBe(400);
    expect(stolen.body.access_token).toBeUndefined();
    const replay = await json(await postForm(`${a.url}/token`, form));
    expect(replay.body).toEqual(first.body);
  });
});
