import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { JWKS_FILE } from '../keys/key-store.ts';
import { listSigningKeys, rotateSigningKeys } from '../keys/signing-keys.ts';
import { buildOperatorClient, saveOperatorClient } from './operator-clients.ts';
import { formAction, hiddenField, TestBrowser } from '../testing/browser.ts';
import {
  addUser,
  pkcePair,
  postForm,
  postJson,
  RESOURCE,
  registerPublicClient,
  startAuthServer,
  type TestAuthServer,
} from '../testing/harness.ts';

const INITIAL_ACCESS_TOKEN = 'operator-secret-for-live-provider-test';

const servers: TestAuthServer[] = [];

/** A client_credentials client, registered with the initial access token: its Basic header. */
async function machineClient(server: TestAuthServer): Promise<string> {
  const registered = await postJson(
    `${server.url}/reg`,
    { client_name: 'Batch', grant_types: ['client_credentials'], scope: 'mcp:tools' },
    { authorization: `Bearer ${INITIAL_ACCESS_TOKEN}` },
  );
  const client = (await registered.json()) as { client_id: string; client_secret: string };
  return `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
}
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

const activeKid = async (server: TestAuthServer, alg: string) =>
  (await listSigningKeys(server.signingKeys)).find((k) => k.alg === alg && k.state === 'active')!.kid;

describe('the provider swapped on a key rotation', () => {
  for (const [store, env] of [
    ['the file store', {}],
    ['the database store on SQLite', { AUTH_KEY_STORE: 'database', AUTH_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64') }],
  ] as const) {
    it(`picks up a rotation in ${store} by itself, within AUTH_KEY_POLL_SECONDS`, async () => {
      const server = await startAuthServer({ AUTH_KEY_POLL_SECONDS: '0.2', AUTH_INITIAL_ACCESS_TOKEN: INITIAL_ACCESS_TOKEN, ...env });
      servers.push(server);
      const basic = await machineClient(server);
      const kidNow = async () => {
        const response = await postForm(
          `${server.url}/token`,
          { grant_type: 'client_credentials', scope: 'mcp:tools', resource: RESOURCE },
          { authorization: basic },
        );
        return decodeProtectedHeader(((await response.json()) as { access_token: string }).access_token).kid;
      };
      expect(await kidNow()).toBe(await activeKid(server, 'ES256'));
      const generation = server.live.generation();
      const { activated } = await rotateSigningKeys(server.signingKeys, { actor: 'test', force: true });
      const rotatedAt = Date.now();
      while ((await kidNow()) !== activated[0]) {
        expect(Date.now() - rotatedAt).toBeLessThan(3_000);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(server.live.generation()).toBe(generation + 1);
    });
  }

  it('a login started before a rotation finishes after it, on the new provider, and its tokens carry the new keys', async () => {
    const server = await startAuthServer();
    servers.push(server);
    await addUser(server);
    const client = await registerPublicClient(server);
    const redirectUri = client.redirect_uris[0]!;
    const browser = new TestBrowser();
    const { verifier, challenge } = pkcePair();
    const params = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid mcp:tools',
      resource: RESOURCE,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      nonce: 'n',
    });
    let { response } = await browser.follow(await browser.get(`${server.url}/auth?${params}`));
    const loginPage = await response.text();
    expect(loginPage).toContain('/login"');

    const before = server.live.current();
    await rotateSigningKeys(server.signingKeys, { actor: 'test', force: true });
    expect(await server.live.refresh()).toBe(true);
    expect(server.live.current()).not.toBe(before);

    response = await browser.postForm(new URL(formAction(loginPage, '/login'), server.url).href, {
      csrf: hiddenField(loginPage, 'csrf'),
      username: 'alice',
      password: 'correct horse battery staple',
    });
    let url: string;
    ({ response, url } = await browser.follow(response, redirectUri));
    if (!url.startsWith(redirectUri)) {
      const consent = await response.text();
      response = await browser.postForm(new URL(formAction(consent, '/confirm'), server.url).href, { csrf: hiddenField(consent, 'csrf') });
      ({ url } = await browser.follow(response, redirectUri));
    }
    const code = new URL(url).searchParams.get('code');
    expect(code).toBeTruthy();
    const tokenResponse = await postForm(`${server.url}/token`, {
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: redirectUri,
      client_id: client.client_id,
      code_verifier: verifier,
      resource: RESOURCE,
    });
    expect(tokenResponse.status).toBe(200);
    const tokens = (await tokenResponse.json()) as { access_token: string; id_token: string };
    expect(decodeProtectedHeader(tokens.access_token).kid).toBe(await activeKid(server, 'ES256'));
    expect(decodeProtectedHeader(tokens.id_token).kid).toBe(await activeKid(server, 'RS256'));
  });

  it('the new provider keeps its hooks: token responses are still counted, hashed operator secrets still compare', async () => {
    const server = await startAuthServer({ METRICS_ALLOW: '127.0.0.1', AUTH_INITIAL_ACCESS_TOKEN: INITIAL_ACCESS_TOKEN });
    servers.push(server);
    const basic = await machineClient(server);
    const issued = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return Number(/^auth_server_tokens_issued_total\{grant_type="client_credentials"\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    await rotateSigningKeys(server.signingKeys, { actor: 'test', force: true });
    expect(await server.live.refresh()).toBe(true);
    const response = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope: 'mcp:tools', resource: RESOURCE },
      { authorization: basic },
    );
    expect(response.status).toBe(200);
    expect(decodeProtectedHeader(((await response.json()) as { access_token: string }).access_token).kid).toBe(
      await activeKid(server, 'ES256'),
    );
    expect(await issued()).toBe(1);

    // An operator client's secret is stored hashed; the new provider still knows how to compare it.
    const operator = buildOperatorClient(server.live.current(), {
      name: 'nightly',
      grantTypes: ['client_credentials'],
      auth: { method: 'client_secret_basic' },
      scope: 'mcp:tools',
    });
    await saveOperatorClient(server.storage.models, operator.payload);
    const operatorBasic = `Basic ${Buffer.from(`${String(operator.payload.client_id)}:${operator.secret!}`).toString('base64')}`;
    await rotateSigningKeys(server.signingKeys, { actor: 'test', force: true });
    expect(await server.live.refresh()).toBe(true);
    const hashed = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope: 'mcp:tools', resource: RESOURCE },
      { authorization: operatorBasic },
    );
    expect(hashed.status).toBe(200);
    expect(await issued()).toBe(2);
  });

  it('a key store that cannot be read keeps the provider there is (and says why once); nothing is refused', async () => {
    const server = await startAuthServer();
    servers.push(server);
    const kid = await activeKid(server, 'ES256');
    await writeFile(join(server.config.keysDir, JWKS_FILE), '{ half a file');
    expect(await server.live.refresh()).toBe(false);
    expect(await server.live.refresh()).toBe(false);
    const warnings = server.logs.filter((line) => line.includes('signing keys not reloaded'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('is not a key file');
    const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toContain(kid);
  });
});
