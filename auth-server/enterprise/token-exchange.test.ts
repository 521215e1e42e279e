import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../common/free-port.ts';
import { addUser, authorize, postForm, postJson, RESOURCE, startAuthServer, type TestAuthServer } from '../testing/harness.ts';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const ID_JAG = 'urn:ietf:params:oauth:token-type:id-jag';
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
const REDIRECT_URI = 'http://127.0.0.1:8976/callback';
const ELSEWHERE = 'https://elsewhere.example';

/**
 * Two authorization servers: `idp` (ours as the company's IdP, AUTH_ID_JAG_TARGETS) and `as` (the
 * MCP server's, trusting `idp` in AUTH_TRUSTED_IDPS). A client signs a user in at `idp`,
 * exchanges the ID token for an ID-JAG there, and redeems it at `as`.
 */
let dir: string;
let idp: TestAuthServer;
let as: TestAuthServer;
let client: { client_id: string; client_secret: string };

const basic = (c: { client_id: string; client_secret: string }) => ({
  authorization: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}`,
});

async function registerAgent(server: TestAuthServer) {
  const response = await postJson(`${server.url}/reg`, {
    client_name: 'Enterprise agent',
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE],
    token_endpoint_auth_method: 'client_secret_basic',
  });
  const body = (await response.json()) as { client_id: string; client_secret: string };
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body;
}

/** A user signs in at the IdP through `agent`: its ID token. */
async function idToken(agent: { client_id: string; client_secret: string }, username = 'alice'): Promise<string> {
  const result = await authorize(idp, { clientId: agent.client_id, redirectUri: REDIRECT_URI, scope: 'openid profile', username });
  const code = result.callback?.searchParams.get('code');
  expect(code, result.html?.slice(0, 300)).toBeTruthy();
  const response = await postForm(
    `${idp.url}/token`,
    { grant_type: 'authorization_code', code: code!, redirect_uri: REDIRECT_URI, code_verifier: result.verifier },
    basic(agent),
  );
  const tokens = (await response.json()) as { id_token: string };
  expect(response.status, JSON.stringify(tokens)).toBe(200);
  return tokens.id_token;
}

async function exchange(form: Record<string, string>, agent = client) {
  const response = await postForm(
    `${idp.url}/token`,
    {
      grant_type: TOKEN_EXCHANGE,
      requested_token_type: ID_JAG,
      subject_token_type: ID_TOKEN,
      audience: as.url,
      resource: RESOURCE,
      ...form,
    },
    basic(agent),
  );
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** The reasons of the refusals so far, from the audit log. */
function reasons(): string[] {
  return idp.logs
    .map((line) => JSON.parse(line) as { event?: string; reason?: string })
    .filter((line) => line.event === 'id_jag.exchange_refused')
    .map((line) => line.reason!);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'token-exchange-'));
  const [idpPort, asPort] = [await freePort(), await freePort()];
  const idpIssuer = `http://localhost:${idpPort}`;
  const asIssuer = `http://localhost:${asPort}`;
  await writeFile(
    join(dir, 'targets.json'),
    JSON.stringify([
      { audience: asIssuer, resources: [RESOURCE], clients: '*', scopes: ['mcp:tools'] },
      { audience: ELSEWHERE, resources: ['https://mcp.elsewhere.example/mcp'], clients: { 'someone-else': 'x' } },
    ]),
  );
  await writeFile(
    join(dir, 'trusted.json'),
    JSON.stringify([{ issuer: idpIssuer, jwksUri: `${idpIssuer}/jwks`, clients: '*', resources: [RESOURCE] }]),
  );
  idp = await startAuthServer({ AUTH_PORT: String(idpPort), AUTH_ID_JAG_TARGETS: join(dir, 'targets.json') });
  as = await startAuthServer({ AUTH_PORT: String(asPort), AUTH_TRUSTED_IDPS: join(dir, 'trusted.json') });
  await addUser(idp, 'alice');
  client = await registerAgent(idp);
});

afterAll(async () => {
  await as?.close();
  await idp?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('token exchange: this server as the enterprise IdP (ID-JAGs for another authorization server)', () => {
  it('exchanges an ID token for an ID-JAG that the other server redeems for an MCP token for the same person', async () => {
    const { status, body } = await exchange({ subject_token: await idToken(client), scope: 'mcp:tools mcp:admin' });
    expect(status, JSON.stringify(body)).toBe(200);
    // Only what the target allows: mcp:admin is not in its scopes.
    expect(body).toMatchObject({ issued_token_type: ID_JAG, token_type: 'N_A', expires_in: 300, scope: 'mcp:tools' });
    expect(decodeProtectedHeader(body.access_token)).toMatchObject({ typ: 'oauth-id-jag+jwt', alg: 'ES256' });
    const alice = await idp.storage.accounts.findByUsername('alice');
    const { payload } = await jwtVerify(body.access_token, createRemoteJWKSet(new URL(`${idp.url}/jwks`)), {
      issuer: idp.url,
      audience: as.url,
      typ: 'oauth-id-jag+jwt',
    });
    expect(payload).toMatchObject({ sub: alice!.id, client_id: client.client_id, resource: RESOURCE, scope: 'mcp:tools' });
    expect(payload.exp! - payload.iat!).toBe(300);

    // The same client id at the other server ('*'), as the operator set it up there.
    await as.storage.models.upsert(
      'Client',
      client.client_id,
      {
        client_id: client.client_id,
        client_secret: client.client_secret,
        grant_types: [JWT_BEARER],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      undefined,
    );
    const redeemed = await postForm(`${as.url}/token`, { grant_type: JWT_BEARER, assertion: body.access_token }, basic(client));
    const tokens = (await redeemed.json()) as { access_token: string; scope: string };
    expect(redeemed.status, JSON.stringify(tokens)).toBe(200);
    const link = await as.storage.accounts.findLink(`idp:${idp.url}`, alice!.id);
    const { payload: access } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${as.url}/jwks`)), {
      issuer: as.url,
      audience: RESOURCE,
    });
    expect(access).toMatchObject({ sub: link!.accountId, scope: 'mcp:tools' });
    expect((await as.storage.accounts.findById(link!.accountId))?.username).toBe('alice');
  });

  it('refuses a requested_token_type other than id-jag, and a subject_token_type other than id_token', async () => {
    const subject = await idToken(client);
    const wrongType = await exchange({ subject_token: subject, requested_token_type: 'urn:ietf:params:oauth:token-type:access_token' });
    expect(wrongType).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const wrongSubjectType = await exchange({ subject_token: subject, subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' });
    expect(wrongSubjectType).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(reasons()).toEqual(expect.arrayContaining(['requested_token_type', 'subject_token_type']));
  });

  it('refuses an ID token issued to another client, and one that is not ours', async () => {
    const otherClient = await registerAgent(idp);
    const theirs = await idToken(otherClient);
    expect(await exchange({ subject_token: theirs })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const forged = `${theirs.split('.').slice(0, 2).join('.')}.${'A'.repeat(86)}`;
    expect(await exchange({ subject_token: forged })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(reasons().filter((r) => r === 'bad_subject_token')).toHaveLength(2);
  });

  it('refuses an audience it does not issue for, a resource of that audience it may not name, and a client the target does not list', async () => {
    const subject = await idToken(client);
    expect(await exchange({ subject_token: subject, audience: 'https://unknown.example' })).toMatchObject({
      status: 400,
      body: { error: 'invalid_target' },
    });
    expect(await exchange({ subject_token: subject, resource: 'https://other.example/mcp' })).toMatchObject({
      status: 400,
      body: { error: 'invalid_target' },
    });
    expect(await exchange({ subject_token: subject, audience: ELSEWHERE, resource: 'https://mcp.elsewhere.example/mcp' })).toMatchObject({
      status: 400,
      body: { error: 'invalid_target' },
    });
  });

  it('refuses a scope the target does not allow at all', async () => {
    expect(await exchange({ subject_token: await idToken(client), scope: 'mcp:admin' })).toMatchObject({
      status: 400,
      body: { error: 'invalid_scope' },
    });
  });

  it('refuses the ID token of a disabled account', async () => {
    await addUser(idp, 'bob');
    const subject = await idToken(client, 'bob');
    await idp.storage.accounts.setDisabled('bob', true);
    expect(await exchange({ subject_token: subject })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(reasons()).toContain('account_unavailable');
  });

  it('keeps token exchange off public clients', async () => {
    const response = await postJson(`${idp.url}/reg`, {
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', TOKEN_EXCHANGE],
      token_endpoint_auth_method: 'none',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_client_metadata');
  });

  it('advertises token exchange only where AUTH_ID_JAG_TARGETS is set', async () => {
    const metadata = async (server: TestAuthServer) =>
      ((await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as { grant_types_supported: string[] })
        .grant_types_supported;
    expect(await metadata(idp)).toContain(TOKEN_EXCHANGE);
    expect(await metadata(as)).not.toContain(TOKEN_EXCHANGE);
  });
});
