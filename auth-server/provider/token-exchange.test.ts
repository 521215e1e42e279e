import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addUser,
  authorize,
  loginAndGetTokens,
  postForm,
  postJson,
  registerPublicClient,
  startAuthServer,
  type TestAuthServer,
} from '../testing/harness.ts';
import { ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE } from './token-exchange.ts';

const ID_JAG = 'urn:ietf:params:oauth:token-type:id-jag';
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
const REDIRECT_URI = 'http://127.0.0.1:8976/callback';
const ELSEWHERE = 'https://elsewhere.example';
const RS = { client_id: 'mcp-resource-server', client_secret: 'rs-secret-'.padEnd(40, 'x') };

/**
 * One server with both kinds of token exchange on (AUTH_ID_JAG_TARGETS and an upstream with
 * storeTokens): oidc-provider takes one handler per grant type, so the one registration must send
 * each request to its own handler by `subject_token_type`.
 */
let dir: string;
let server: TestAuthServer;
let agent: { client_id: string; client_secret: string };

const basic = (c: { client_id: string; client_secret: string }) => ({
  authorization: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}`,
});

async function exchange(form: Record<string, string>, client: { client_id: string; client_secret: string }) {
  const response = await postForm(`${server.url}/token`, { grant_type: TOKEN_EXCHANGE, ...form }, basic(client));
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

const auditEvents = () =>
  server.logs
    .map((line) => JSON.parse(line) as { event?: string })
    .map((line) => line.event)
    .filter(Boolean);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'token-exchange-'));
  await writeFile(join(dir, 'targets.json'), JSON.stringify([{ audience: ELSEWHERE, resources: [`${ELSEWHERE}/mcp`], clients: '*' }]));
  await writeFile(
    join(dir, 'upstreams.json'),
    // Never reached: discovery happens on first use, and nobody signs in through it here.
    JSON.stringify([
      { id: 'corp', name: 'Corp', type: 'oidc', issuer: 'http://127.0.0.1:1', clientId: 'c', clientSecret: 's', storeTokens: true },
    ]),
  );
  server = await startAuthServer({
    AUTH_ID_JAG_TARGETS: join(dir, 'targets.json'),
    AUTH_UPSTREAMS: join(dir, 'upstreams.json'),
    RS_CLIENT_ID: RS.client_id,
    RS_CLIENT_SECRET: RS.client_secret,
  });
  await addUser(server);
  const registration = await postJson(`${server.url}/reg`, {
    client_name: 'Enterprise agent',
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE],
    token_endpoint_auth_method: 'client_secret_basic',
  });
  agent = (await registration.json()) as typeof agent;
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('one token exchange grant, two handlers', () => {
  it('an ID token (subject_token_type id_token) goes to the ID-JAG exchange and gets an ID-JAG', async () => {
    const result = await authorize(server, { clientId: agent.client_id, redirectUri: REDIRECT_URI, scope: 'openid profile' });
    const code = result.callback!.searchParams.get('code')!;
    const tokens = (await (
      await postForm(
        `${server.url}/token`,
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: result.verifier },
        basic(agent),
      )
    ).json()) as { id_token: string };
    const { status, body } = await exchange(
      {
        requested_token_type: ID_JAG,
        subject_token: tokens.id_token,
        subject_token_type: ID_TOKEN,
        audience: ELSEWHERE,
        resource: `${ELSEWHERE}/mcp`,
      },
      agent,
    );
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.issued_token_type).toBe(ID_JAG);
    expect(decodeJwt(body.access_token)).toMatchObject({ aud: ELSEWHERE });
  });

  it('an access token (subject_token_type access_token) goes to the token vault: the RS client hears what is kept, another client is refused', async () => {
    const client = await registerPublicClient(server);
    const { tokens } = await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
    const form = { subject_token: tokens.access_token, subject_token_type: ACCESS_TOKEN_TYPE, audience: 'corp' };
    const byRs = await exchange(form, RS);
    expect(byRs).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(byRs.body.error_description).toMatch(/no Corp token is kept for this user/);
    expect(await exchange(form, agent)).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    expect(auditEvents()).toContain('vault.exchange_refused');
  });

  it('any other subject_token_type goes to the ID-JAG exchange, which refuses and audits it', async () => {
    const { status, body } = await exchange(
      {
        requested_token_type: ID_JAG,
        subject_token: 'x',
        subject_token_type: 'urn:ietf:params:oauth:token-type:saml2',
        audience: ELSEWHERE,
      },
      agent,
    );
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_request');
    expect(auditEvents()).toContain('id_jag.exchange_refused');
  });
});
