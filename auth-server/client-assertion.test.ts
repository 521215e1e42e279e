import { createHmac } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClientsCli } from './cli/clients.ts';
import { postForm, RESOURCE, startAuthServer, type TestAuthServer } from './testing/harness.ts';

/**
 * The OAuth client-credentials extension (`io.modelcontextprotocol/oauth-client-credentials`,
 * SEP-1046) with private_key_jwt (RFC 7523, as tightened by RFC 7523bis): machine clients the
 * operator made with `npm run clients -- add`, assertions checked at the real /token.
 */

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface Signer {
  clientId: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** `npm run clients -- …` in-process against the server's storage; the client as JSON. */
async function cli(server: TestAuthServer, args: string[]): Promise<Record<string, unknown>> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        append(chunk.toString());
        done();
      },
    });
  const code = await runClientsCli([...args, '--json'], {
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    env: { DATA_DIR: server.config.dataDir, DATABASE_URL: server.config.databaseUrl },
  });
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout) as Record<string, unknown>;
}

async function addSigner(server: TestAuthServer, name: string): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const file = join(server.dir, `${name}-jwks.json`);
  await writeFile(file, JSON.stringify({ keys: [publicJwk] }));
  const client = await cli(server, [
    'add',
    '--name',
    name,
    '--grant',
    'client_credentials',
    '--auth',
    'private_key_jwt',
    '--jwks-file',
    file,
    '--scope',
    'mcp:tools',
  ]);
  expect(client).toMatchObject({ token_endpoint_auth_method: 'private_key_jwt' });
  expect(client.client_secret).toBeUndefined();
  return { clientId: client.client_id as string, privateKey, publicJwk };
}

interface AssertionOptions {
  aud?: string | string[];
  /** Seconds from now. */
  exp?: number;
  /** Seconds from now. */
  iat?: number;
  /** The `typ` header (none when absent). */
  typ?: unknown;
}

async function assertion(signer: Signer, aud: string | string[], options: AssertionOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', ...(options.typ === undefined ? {} : { typ: options.typ as string }) })
    .setIssuer(signer.clientId)
    .setSubject(signer.clientId)
    .setAudience(options.aud ?? aud)
    .setJti(crypto.randomUUID())
    .setIssuedAt(now + (options.iat ?? 0))
    .setExpirationTime(now + (options.exp ?? 60))
    .sign(signer.privateKey);
}

function tokenRequest(server: TestAuthServer, clientAssertion: string) {
  return postForm(`${server.url}/token`, {
    grant_type: 'client_credentials',
    scope: 'mcp:tools',
    resource: RESOURCE,
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: clientAssertion,
  });
}

async function expectInvalidClient(response: Response): Promise<void> {
  const body = (await response.json()) as { error?: string; access_token?: string };
  expect(response.status, JSON.stringify(body)).toBe(401);
  expect(body.error).toBe('invalid_client');
  expect(body.access_token).toBeUndefined();
}

const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

describe('private_key_jwt client assertions at /token (strict by default)', () => {
  let server: TestAuthServer;
  let signer: Signer;
  beforeAll(async () => {
    server = await startAuthServer();
    signer = await addSigner(server, 'es256 machine');
  });
  afterAll(() => server?.close());

  it('issues a client_credentials token for an ES256 assertion whose aud is the issuer', async () => {
    const response = await tokenRequest(server, await assertion(signer, server.url));
    const body = (await response.json()) as { access_token: string };
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(claims(body.access_token)).toMatchObject({ sub: signer.clientId, client_id: signer.clientId, aud: RESOURCE });
  });

  it('refuses a replayed assertion: the jti is single-use (ReplayDetection through our adapter)', async () => {
    const jwt = await assertion(signer, server.url);
    expect((await tokenRequest(server, jwt)).status).toBe(200);
    await expectInvalidClient(await tokenRequest(server, jwt));
  });

  it('refuses an aud that is not this issuer', async () => {
    await expectInvalidClient(await tokenRequest(server, await assertion(signer, 'https://other.example')));
  });

  it('refuses the token endpoint URL as aud, and an audience array, without the compatibility setting', async () => {
    await expectInvalidClient(await tokenRequest(server, await assertion(signer, `${server.url}/token`)));
    await expectInvalidClient(await tokenRequest(server, await assertion(signer, [server.url])));
    await expectInvalidClient(await tokenRequest(server, await assertion(signer, [server.url, 'https://other.example'])));
  });

  it('refuses an expired assertion', async () => {
    await expectInvalidClient(await tokenRequest(server, await assertion(signer, server.url, { iat: -600, exp: -120 })));
  });

  it('refuses an assertion that lives longer than 5 minutes, also one without a long iat-to-exp span', async () => {
    await expectInvalidClient(await tokenRequest(server, await assertion(signer, server.url, { exp: 3600 })));
    // iat in the future, so exp − iat is short while exp is far away.
    await expectInvalidClient(await tokenRequest(server, await assertion(signer, server.url, { iat: 3500, exp: 3600 })));
    // Just inside the limit works.
    expect((await tokenRequest(server, await assertion(signer, server.url, { exp: 290 }))).status).toBe(200);
  });

  it('refuses an HS256 assertion signed with the public key (algorithm confusion)', async () => {
    const spki = await exportSPKI(
      await crypto.subtle.importKey('jwk', signer.publicJwk, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']),
    );
    for (const secret of [spki, JSON.stringify(signer.publicJwk), Buffer.from(signer.publicJwk.x!, 'base64url')]) {
      await expectInvalidClient(await tokenRequest(server, hs256(signer, server.url, secret)));
    }
  });

  it('accepts an assertion typed client-authentication+jwt or JWT, or untyped (RFC 7523bis explicit typing)', async () => {
    for (const typ of [
      undefined,
      'JWT',
      'jwt',
      'client-authentication+jwt',
      'application/client-authentication+jwt',
      'Client-Authentication+JWT',
    ]) {
      const response = await tokenRequest(server, await assertion(signer, server.url, { typ }));
      expect(response.status, `${String(typ)}: ${JSON.stringify(await response.clone().json())}`).toBe(200);
    }
  });

  it('refuses an otherwise valid assertion typed as another kind of JWT: an ID-JAG, an access token, a DPoP proof, a logout token', async () => {
    for (const typ of [
      'oauth-id-jag+jwt',
      'application/oauth-id-jag+jwt',
      'at+jwt',
      'application/at+jwt',
      'dpop+jwt',
      'logout+jwt',
      'oauth-authz-req+jwt',
      'JWS',
      '',
      42,
    ]) {
      const response = await tokenRequest(server, await assertion(signer, server.url, { typ }));
      const body = (await response.clone().json()) as { error_description?: string };
      await expectInvalidClient(response);
      expect(body.error_description, String(typ)).toBe('client authentication failed');
    }
  });

  it('refuses an assertion signed by another key', async () => {
    const other = await generateKeyPair('ES256');
    await expectInvalidClient(await tokenRequest(server, await assertion({ ...signer, privateKey: other.privateKey }, server.url)));
  });
});

describe('private_key_jwt with AUTH_CLIENT_ASSERTION_AUD_COMPAT=1', () => {
  let server: TestAuthServer;
  let signer: Signer;
  beforeAll(async () => {
    server = await startAuthServer({ AUTH_CLIENT_ASSERTION_AUD_COMPAT: '1' });
    signer = await addSigner(server, 'legacy machine');
  });
  afterAll(() => server?.close());

  it('accepts the token endpoint URL as aud, and still the issuer', async () => {
    expect((await tokenRequest(server, await assertion(signer, `${server.url}/token`))).status).toBe(200);
    expect((await tokenRequest(server, await assertion(signer, server.url))).status).toBe(200);
  });

  it('still refuses a foreign aud, a replay and a long-lived assertion', async () => {
    await expectInvalidClient(await tokenRequest(server, await assertion(signer, 'https://other.example')));
    const jwt = await assertion(signer, `${server.url}/token`);
    expect((await tokenRequest(server, jwt)).status).toBe(200);
    await expectInvalidClient(await tokenRequest(server, jwt));
    await expectInvalidClient(await tokenRequest(server, await assertion(signer, server.url, { exp: 3600 })));
  });
});

describe('private_key_jwt replay detection on PostgreSQL', () => {
  let server: TestAuthServer;
  beforeAll(async () => {
    server = await startAuthServer({}, { store: 'postgres' });
  });
  afterAll(() => server?.close());

  it('refuses a replayed assertion', async () => {
    const signer = await addSigner(server, 'pg machine');
    const jwt = await assertion(signer, server.url);
    expect((await tokenRequest(server, jwt)).status).toBe(200);
    await expectInvalidClient(await tokenRequest(server, jwt));
  });
});

/** A hand-made HS256 JWT: jose refuses to HMAC with an asymmetric key, which is the point. */
function hs256(signer: Signer, aud: string, secret: string | Buffer): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg: 'HS256', kid: 'k1' })}.${encode({
    iss: signer.clientId,
    sub: signer.clientId,
    aud,
    jti: crypto.randomUUID(),
    iat: now,
    exp: now + 60,
  })}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
