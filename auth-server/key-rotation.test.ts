import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MCP_POST_HEADERS, startResourceServer, type RunningResourceServer } from '../resource-server/testing/test-server.ts';
import { runKeysCli } from './cli/keys.ts';
import { loadConfig } from './config.ts';
import { listSigningKeys, openSigningKeys, type SigningKeys } from './keys/signing-keys.ts';
import { openPostgresStorage } from './storage/postgres-store.ts';
import type { Storage } from './storage/store.ts';
import { spawnAuthServer, type AuthProcess } from './testing/auth-process.ts';
import { freePort, postForm, postJson } from './testing/harness.ts';
import { createTestSchema, type TestSchema } from './testing/postgres.ts';

/**
 * The evidence for rotation without a restart: two auth-server processes sharing PostgreSQL (key
 * store in the database), two resource servers, and two workers that get client_credentials
 * tokens alternately from each auth server and call the MCP tools alternately on each resource
 * server, without pause, while the keys are rotated twice through `npm run keys -- rotate`.
 */
const POLL_SECONDS = 0.5;
/** Longer than the poll interval + the resource servers' JWKS refetch cooldown (RS_JWKS_COOLDOWN_MS, 5 s by default). */
const MIN_NEXT_AGE_SECONDS = 6;
const INITIAL_ACCESS_TOKEN = 'operator-secret-for-rotation-test';

describe('signing-key rotation under load: two auth servers on PostgreSQL, two resource servers, no restart', () => {
  let dir: string;
  let schema: TestSchema;
  let storage: Storage;
  let signingKeys: SigningKeys;
  let cliEnv: Record<string, string>;
  let resource: string;
  let a: AuthProcess;
  let b: AuthProcess;
  let rs: RunningResourceServer[];
  let basic: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-rotation-'));
    schema = await createTestSchema();
    const [portA, portB] = [await freePort(), await freePort()];
    resource = `http://127.0.0.1:${await freePort()}/mcp`;
    const shared = {
      DATABASE_URL: schema.url,
      DATABASE_POOL_SIZE: '3',
      AUTH_KEY_STORE: 'database',
      AUTH_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      AUTH_KEY_POLL_SECONDS: String(POLL_SECONDS),
      AUTH_KEY_MIN_NEXT_AGE: String(MIN_NEXT_AGE_SECONDS),
      AUTH_ISSUER: `http://localhost:${portA}`,
      RS_RESOURCE_URL: resource,
      AUTH_INITIAL_ACCESS_TOKEN: INITIAL_ACCESS_TOKEN,
    };
    // Separate KEYS_DIRs: the signing keys come from the database, nothing is shared on disk.
    [a, b] = await Promise.all([
      spawnAuthServer(portA, { ...shared, KEYS_DIR: join(dir, 'a-keys'), DATA_DIR: join(dir, 'a-data') }),
      spawnAuthServer(portB, { ...shared, KEYS_DIR: join(dir, 'b-keys'), DATA_DIR: join(dir, 'b-data') }),
    ]);
    // What an operator's shell has for `npm run keys` (its own KEYS_DIR: nothing on disk either).
    cliEnv = { NODE_ENV: 'test', ...shared, KEYS_DIR: join(dir, 'cli-keys'), DATA_DIR: join(dir, 'cli-data') };
    storage = await openPostgresStorage(schema.url, { poolSize: 1 });
    signingKeys = await openSigningKeys(loadConfig(cliEnv), storage);

    const rsEnv = { RS_RESOURCE_URL: resource, AUTH_ISSUER: shared.AUTH_ISSUER, MCP_STATELESS: '1', METRICS_ALLOW: '127.0.0.1' };
    rs = await Promise.all([startResourceServer(rsEnv), startResourceServer(rsEnv)]);

    const registered = await postJson(
      `${a.url}/reg`,
      { client_name: 'Load', grant_types: ['client_credentials'], scope: 'mcp:tools' },
      { authorization: `Bearer ${INITIAL_ACCESS_TOKEN}` },
    );
    expect(registered.status).toBe(201);
    const client = (await registered.json()) as { client_id: string; client_secret: string };
    basic = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
  }, 60_000);

  afterAll(async () => {
    await Promise.all((rs ?? []).map((r) => r.close()));
    await a?.stop();
    await b?.stop();
    await storage?.close();
    await schema?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function token(auth: AuthProcess): Promise<{ status: number; token?: string; kid?: string }> {
    const response = await postForm(
      `${auth.url}/token`,
      { grant_type: 'client_credentials', scope: 'mcp:tools', resource },
      { authorization: basic },
    );
    if (response.status !== 200) return { status: response.status };
    const { access_token } = (await response.json()) as { access_token: string };
    return { status: 200, token: access_token, kid: decodeProtectedHeader(access_token).kid! };
  }

  async function callTools(server: RunningResourceServer, accessToken: string, id: number): Promise<string | undefined> {
    const response = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${accessToken}`, 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list', params: {} }),
    });
    const text = await response.text();
    if (response.status !== 200) return `${response.status} ${response.headers.get('www-authenticate') ?? text.slice(0, 200)}`;
    const json = text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? '{}');
    const body = JSON.parse(json) as { result?: { tools?: unknown[] }; error?: unknown };
    return body.result?.tools?.length ? undefined : `no tools: ${json.slice(0, 200)}`;
  }

  async function cli(args: string[]): Promise<{ code: number; out: string }> {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk) => (text += chunk));
    const code = await runKeysCli(args, cliEnv, out as unknown as typeof process.stdout, out as unknown as typeof process.stderr);
    return { code, out: text };
  }

  const activeEs256 = async () => (await listSigningKeys(signingKeys)).find((k) => k.alg === 'ES256' && k.state === 'active')!.kid;
  const jwksFetches = async (server: RunningResourceServer) => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return Number(/^resource_server_jwks_fetches_total (\d+)/m.exec(text)?.[1] ?? 0);
  };

  it('rotates twice with zero failed requests; both auth servers sign with each new key within the poll interval', async () => {
    const pids = [a.child.pid, b.child.pid];
    const failures: string[] = [];
    /** Per auth server: when each kid first signed a token. */
    const firstSeen = [new Map<string, number>(), new Map<string, number>()];
    let requests = 0;
    let stopped = false;

    const worker = async (w: number) => {
      for (let i = w; !stopped; i += 2) {
        const which = i % 2;
        const issued = await token(which === 0 ? a : b);
        requests++;
        if (issued.status !== 200) {
          failures.push(`token from ${which === 0 ? 'A' : 'B'}: ${issued.status}`);
          continue;
        }
        if (!firstSeen[which]!.has(issued.kid!)) firstSeen[which]!.set(issued.kid!, Date.now());
        const target = rs[Math.floor(i / 2) % 2]!;
        const failed = await callTools(target, issued.token!, i);
        requests++;
        if (failed) failures.push(`tools/list on RS${Math.floor(i / 2) % 2} with ${issued.kid} from ${which === 0 ? 'A' : 'B'}: ${failed}`);
      }
    };
    const workers = [worker(0), worker(1)];

    const k0 = await activeEs256();
    const early = await token(a);
    expect(early.kid).toBe(k0);
    const pickup: number[] = [];
    const kids = [k0];
    try {
      for (let rotation = 1; rotation <= 2; rotation++) {
        // Rotating sooner is refused (the next key must be published long enough): wait it out.
        const next = (await listSigningKeys(signingKeys)).find((k) => k.alg === 'ES256' && k.state === 'next')!;
        await sleep(Math.max(0, Date.parse(next.until!) - Date.now()) + 100);
        const rotatedAt = Date.now();
        const rotated = await cli(['rotate']);
        expect(rotated.code, rotated.out).toBe(0);
        expect(await activeEs256()).toBe(next.kid);
        kids.push(next.kid);
        // Both instances sign with the new key within the poll interval (plus a build and a request).
        for (;;) {
          if (firstSeen.every((seen) => seen.has(next.kid))) break;
          expect(Date.now() - rotatedAt, `instances still signing with the old key after rotation ${rotation}`).toBeLessThan(
            POLL_SECONDS * 1000 + 5_000,
          );
          await sleep(50);
        }
        pickup.push(...firstSeen.map((seen) => seen.get(next.kid)! - rotatedAt));
      }
      await sleep(1_000);
    } finally {
      stopped = true;
      await Promise.all(workers);
    }

    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(100);
    // Each auth server signed with all three keys in turn, and never restarted.
    for (const seen of firstSeen) expect([...seen.keys()]).toEqual(kids);
    expect([a.child.pid, b.child.pid]).toEqual(pids);
    expect([a.child.exitCode, b.child.exitCode]).toEqual([null, null]);
    // A token from before both rotations still verifies: its key is retiring, still published.
    expect(await callTools(rs[0]!, early.token!, 0)).toBeUndefined();
    // The next key was published before it signed: the first rotation cost the resource servers no
    // fetch; the second, whose key appeared after their first fetch, one refetch each on the unknown kid.
    const fetches = await Promise.all(rs.map(jwksFetches));
    for (const count of fetches) expect(count).toBeLessThanOrEqual(2);
    console.log(
      `key rotation under load: ${requests} requests, 0 failed; new key signing on both instances ${Math.min(...pickup)}–${Math.max(
        ...pickup,
      )} ms after rotate; JWKS fetches per resource server: ${fetches.join(', ')}`,
    );
  }, 90_000);

  it('an instance started with another AUTH_ENCRYPTION_KEY refuses to start, with one line saying which setting is wrong', async () => {
    const port = await freePort();
    const wrong = {
      ...cliEnv,
      AUTH_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      KEYS_DIR: join(dir, 'c-keys'),
      DATA_DIR: join(dir, 'c-data'),
    };
    const started = spawnAuthServer(port, wrong);
    await expect(started).rejects.toThrow(/auth server exited with 1: auth-server: signing key \S+ in the database cannot be opened/);
    await expect(started).rejects.toThrow(/AUTH_ENCRYPTION_KEY must be the key the signing keys were stored with/);
    await expect(started).rejects.not.toThrow(/at .*\.ts:\d+/);
  }, 30_000);
});
