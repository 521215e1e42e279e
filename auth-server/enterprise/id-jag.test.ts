import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postForm, postJson, RESOURCE, startAuthServer, type TestAuthServer } from '../testing/harness.ts';
import { startTestIdp, type TestIdp } from '../testing/test-idp.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const OTHER_RESOURCE = 'http://localhost:3002/mcp';

let dir: string;
let idp: TestIdp;
let discoveredIdp: TestIdp;
let stranger: TestIdp;
let idpsFile: string;
let server: TestAuthServer;
let client: { client_id: string; client_secret: string };
let other: { client_id: string; client_secret: string };

async function registerConfidential(target: { url: string }) {
  const response = await postJson(`${target.url}/reg`, {
    client_name: 'Enterprise MCP client',
    grant_types: [JWT_BEARER],
    token_endpoint_auth_method: 'client_secret_basic',
  });
  const body = (await response.json()) as { client_id: string; client_secret: string };
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body;
}

/** A valid ID-JAG from `by` (default: the trusted IdP) for our client and RESOURCE; anything can be overridden. */
function idJag(
  options: {
    by?: TestIdp;
    signWith?: TestIdp;
    audience?: string;
    claims?: JWTPayload;
    typ?: string;
    iat?: number;
    exp?: number;
    clientId?: string;
  } = {},
) {
  const { by = idp, ...rest } = options;
  return by.idJag({ audience: server.url, clientId: client.client_id, resource: RESOURCE, ...rest });
}

function basic(c: { client_id: string; client_secret: string }) {
  return { authorization: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}` };
}

async function redeem(assertion: string, extra: Record<string, string> = {}, as: { client_id: string; client_secret: string } = client) {
  const response = await postForm(`${server.url}/token`, { grant_type: JWT_BEARER, assertion, ...extra }, basic(as));
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

function auditReasons(target: TestAuthServer = server): string[] {
  return target.logs
    .map((line) => JSON.parse(line) as { event?: string; reason?: string })
    .filter((line) => line.event === 'id_jag.refused')
    .map((line) => line.reason!);
}

async function expectRefused(result: { status: number; body: Record<string, any> }, reason: string, target: TestAuthServer = server) {
  expect(result.status, JSON.stringify(result.body)).toBe(400);
  expect(result.body.error).toBe('invalid_grant');
  expect(result.body.access_token).toBeUndefined();
  expect(auditReasons(target)).toContain(reason);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'id-jag-'));
  [idp, discoveredIdp, stranger] = await Promise.all([startTestIdp(), startTestIdp(), startTestIdp()]);
  idpsFile = join(dir, 'trusted-idps.json');
  await writeFile(
    idpsFile,
    JSON.stringify([
      {
        issuer: idp.issuer,
        jwksUri: `${idp.issuer}/jwks`,
        clients: '*',
        resources: [RESOURCE],
        roles: { claim: 'groups', map: { ops: ['admin'] } },
      },
      // No jwksUri: found through its metadata.
      { issuer: discoveredIdp.issuer, clients: '*', resources: [RESOURCE] },
    ]),
  );
  server = await startAuthServer({ AUTH_TRUSTED_IDPS: idpsFile, AUTH_EXTRA_RESOURCES: OTHER_RESOURCE });
  client = await registerConfidential(server);
  other = await registerConfidential(server);
});

afterAll(async () => {
  await server?.close();
  await Promise.all([idp, discoveredIdp, stranger].map((s) => s?.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('ID-JAG (jwt-bearer grant, Enterprise-Managed Authorization)', () => {
  it('advertises the jwt-bearer grant and the id-jag grant profile in its metadata', async () => {
    const metadata = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, string[]>;
    expect(metadata.grant_types_supported).toContain(JWT_BEARER);
    expect(metadata.authorization_grant_profiles_supported).toEqual(['urn:ietf:params:oauth:grant-profile:id-jag']);
  });

  it('redeems a valid ID-JAG for an access token bound to its resource, for a just-in-time account linked to the IdP subject', async () => {
    const { status, body } = await redeem(await idJag({ claims: { groups: ['ops'] } }));
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', scope: 'mcp:tools', expires_in: 600 });
    expect(body.refresh_token).toBeUndefined();
    const { payload, protectedHeader } = await jwtVerify(body.access_token, createRemoteJWKSet(new URL(`${server.url}/jwks`)), {
      issuer: server.url,
      audience: RESOURCE,
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    const link = await server.storage.accounts.findLink(`idp:${idp.issuer}`, 'U019488227');
    expect(link?.createdAccount).toBe(true);
    const account = await server.storage.accounts.findById(link!.accountId);
    expect(account).toMatchObject({ username: 'dana', email: 'dana@corp.example', roles: ['user', 'admin'] });
    expect(payload).toMatchObject({ sub: account!.id, client_id: client.client_id, scope: 'mcp:tools', roles: ['user', 'admin'] });

    // The same person again: the same account, no second one.
    const again = await redeem(await idJag());
    expect(again.status).toBe(200);
    expect(JSON.parse(Buffer.from(again.body.access_token.split('.')[1], 'base64url').toString()).sub).toBe(account!.id);
    expect((await server.storage.accounts.list()).filter((a) => a.username.startsWith('dana'))).toHaveLength(1);
  });

  it('finds the keys of an IdP configured without jwksUri through its metadata', async () => {
    const { status, body } = await redeem(await idJag({ by: discoveredIdp, claims: { sub: 'someone-else' } }));
    expect(status, JSON.stringify(body)).toBe(200);
  });

  it('grants the intersection of the requested scopes and the grant: a wider request gets only what the grant allows', async () => {
    const wider = await redeem(await idJag({ claims: { scope: 'mcp:tools' } }), { scope: 'mcp:tools mcp:admin' });
    expect(wider.status).toBe(200);
    expect(wider.body.scope).toBe('mcp:tools');
    const narrower = await redeem(await idJag({ claims: { scope: 'mcp:tools mcp:admin' } }), { scope: 'mcp:admin' });
    expect(narrower.body.scope).toBe('mcp:admin');
    const all = await redeem(await idJag({ claims: { scope: 'mcp:tools mcp:admin' } }));
    expect(all.body.scope).toBe('mcp:tools mcp:admin');
  });

  it('refuses a request whose scopes the grant does not allow at all', async () => {
    await expectRefused(await redeem(await idJag({ claims: { scope: 'mcp:tools' } }), { scope: 'mcp:admin' }), 'no_scope');
  });

  it('refuses a JWT whose typ is not oauth-id-jag+jwt', async () => {
    await expectRefused(await redeem(await idJag({ typ: 'JWT' })), 'wrong_type');
  });

  it('refuses a grant whose aud is not this authorization server', async () => {
    await expectRefused(await redeem(await idJag({ audience: 'https://other-as.example' })), 'wrong_audience');
  });

  it('refuses a grant issued to another client', async () => {
    await expectRefused(await redeem(await idJag({ clientId: other.client_id })), 'client_mismatch');
  });

  it('refuses a grant for a resource this server does not protect', async () => {
    await expectRefused(await redeem(await idJag({ claims: { resource: 'https://evil.example/mcp' } })), 'unknown_resource');
  });

  it('refuses a grant for a resource we protect but the IdP may not grant', async () => {
    await expectRefused(await redeem(await idJag({ claims: { resource: OTHER_RESOURCE } })), 'resource_not_allowed');
  });

  it('refuses a grant from an issuer that is not trusted', async () => {
    await expectRefused(await redeem(await idJag({ by: stranger })), 'untrusted_issuer');
  });

  it('refuses a grant that names a trusted issuer but is signed with another key', async () => {
    const forged = await idJag({ signWith: stranger });
    await expectRefused(await redeem(forged), 'bad_signature');
  });

  it('refuses an expired grant, and one that lives longer than the IdP limit', async () => {
    const past = Math.floor(Date.now() / 1000) - 600;
    await expectRefused(await redeem(await idJag({ iat: past, exp: past + 60 })), 'expired');
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await redeem(await idJag({ iat: now, exp: now + 3600 })), 'lifetime_too_long');
  });

  it('refuses a grant issued in the future', async () => {
    const future = Math.floor(Date.now() / 1000) + 120;
    await expectRefused(await redeem(await idJag({ iat: future, exp: future + 60 })), 'bad_iat');
  });

  it('refuses a grant presented a second time (jti single use)', async () => {
    const assertion = await idJag();
    expect((await redeem(assertion)).status).toBe(200);
    await expectRefused(await redeem(assertion), 'replayed');
  });

  it('refuses a resource parameter that differs from the grant', async () => {
    await expectRefused(await redeem(await idJag(), { resource: OTHER_RESOURCE }), 'resource_mismatch');
  });

  it('keeps the grant off public clients: registration is refused, and a public client cannot redeem', async () => {
    const response = await postJson(`${server.url}/reg`, {
      grant_types: [JWT_BEARER],
      token_endpoint_auth_method: 'none',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_client_metadata');

    const publicClient = (await (
      await postJson(`${server.url}/reg`, { redirect_uris: ['http://127.0.0.1:8976/callback'], token_endpoint_auth_method: 'none' })
    ).json()) as { client_id: string };
    const attempt = await postForm(`${server.url}/token`, {
      grant_type: JWT_BEARER,
      client_id: publicClient.client_id,
      assertion: await idJag({ clientId: publicClient.client_id }),
    });
    const body = (await attempt.json()) as Record<string, unknown>;
    expect(attempt.status).toBe(400);
    expect(body.access_token).toBeUndefined();
  });

  it('an operator client made with `npm run clients -- add --grant jwt-bearer` redeems ID-JAGs', async () => {
    const cli = fileURLToPath(new URL('../cli/clients.ts', import.meta.url));
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [cli, 'add', '--name', 'Enterprise agent', '--grant', 'jwt-bearer', '--secret', '--json'],
        { env: { PATH: process.env.PATH, DATA_DIR: server.config.dataDir, AUTH_TRUSTED_IDPS: idpsFile } },
        (error, out, err) => (error ? reject(new Error(err)) : resolve(out)),
      ),
    );
    const operator = JSON.parse(stdout) as { client_id: string; client_secret: string; grant_types: string[] };
    expect(operator.grant_types).toEqual([JWT_BEARER]);
    const { status, body } = await redeem(await idJag({ clientId: operator.client_id }), {}, operator);
    expect(status, JSON.stringify(body)).toBe(200);
  });

  it('a private_key_jwt client redeems an ID-JAG, authenticating with a signed client assertion', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const registration = await postJson(`${server.url}/reg`, {
      client_name: 'Key-holding agent',
      grant_types: [JWT_BEARER],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'agent-1', alg: 'ES256', use: 'sig' }] },
    });
    const keyClient = (await registration.json()) as { client_id: string };
    expect(registration.status, JSON.stringify(keyClient)).toBe(201);
    const clientAssertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'agent-1' })
      .setIssuer(keyClient.client_id)
      .setSubject(keyClient.client_id)
      .setAudience(server.url)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(privateKey);
    const response = await postForm(`${server.url}/token`, {
      grant_type: JWT_BEARER,
      assertion: await idJag({ clientId: keyClient.client_id }),
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: clientAssertion,
    });
    const body = (await response.json()) as { access_token?: string };
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.access_token).toBeTruthy();
  });

  it('refuses a request without client authentication', async () => {
    const response = await postForm(`${server.url}/token`, {
      grant_type: JWT_BEARER,
      client_id: client.client_id,
      assertion: await idJag(),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_client');
  });
});

describe('ID-JAG without AUTH_TRUSTED_IDPS', () => {
  it('neither advertises nor accepts the grant', async () => {
    const plain = await startAuthServer();
    try {
      const metadata = (await (await fetch(`${plain.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
      expect(metadata.grant_types_supported).not.toContain(JWT_BEARER);
      expect(metadata.authorization_grant_profiles_supported).toBeUndefined();
      const response = await postJson(`${plain.url}/reg`, { grant_types: [JWT_BEARER], token_endpoint_auth_method: 'client_secret_basic' });
      expect(response.status).toBe(400);
    } finally {
      await plain.close();
    }
  });
});

describe('ID-JAG replay across instances (PostgreSQL)', () => {
  it('refuses at a second instance a grant the first one redeemed', async () => {
    const first = await startAuthServer({ AUTH_TRUSTED_IDPS: idpsFile }, { store: 'postgres' });
    // Same database and the same public issuer: two instances behind one load balancer.
    const second = await startAuthServer({ AUTH_TRUSTED_IDPS: idpsFile, DATABASE_URL: first.config.databaseUrl!, AUTH_ISSUER: first.url });
    try {
      const machine = await registerConfidential(first);
      const assertion = await idJag({ audience: first.url, clientId: machine.client_id });
      const send = (target: TestAuthServer) =>
        postForm(`http://127.0.0.1:${target.config.port}/token`, { grant_type: JWT_BEARER, assertion }, basic(machine));
      const [a, b] = await Promise.all([send(first), send(second)]);
      const statuses = [a.status, b.status].sort();
      expect(statuses).toEqual([200, 400]);
      const refused = a.status === 400 ? a : b;
      expect(((await refused.json()) as { error: string }).error).toBe('invalid_grant');
      expect([...auditReasons(first), ...auditReasons(second)]).toEqual(['replayed']);
      // And later, once more at the first.
      expect((await send(first)).status).toBe(400);
    } finally {
      await second.close();
      await first.close();
    }
  });
});
