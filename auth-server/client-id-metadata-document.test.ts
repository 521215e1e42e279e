import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, authorize, loginAndGetTokens, pkcePair, postForm, startAuthServer, type TestAuthServer } from './testing/harness.ts';
import { selfSignedCertificate } from './testing/tls.ts';

let server: TestAuthServer;
let documents: Server;
let base: string;
const served = new Map<string, unknown>();
/** Every path the document server was asked for, in order. */
const requested: string[] = [];
const originalCAs = tls.getCACertificates('default');

beforeAll(async () => {
  const { key, cert } = selfSignedCertificate();
  // The auth server runs in this process: trust the test certificate the way NODE_EXTRA_CA_CERTS would.
  tls.setDefaultCACertificates([...originalCAs, cert]);
  documents = createServer({ key, cert }, (req, res) => {
    requested.push(req.url ?? '');
    const doc = served.get(req.url ?? '');
    res.writeHead(doc ? 200 : 404, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
    res.end(doc ? JSON.stringify(doc) : '{}');
  });
  await new Promise<void>((resolve) => documents.listen(0, '127.0.0.1', resolve));
  base = `https://localhost:${(documents.address() as AddressInfo).port}`;
  server = await startAuthServer();
  await addUser(server);
});
afterAll(async () => {
  tls.setDefaultCACertificates(originalCAs);
  await server?.close();
  await new Promise((resolve) => documents?.close(resolve));
});

function publish(path: string, metadata: Record<string, unknown>): string {
  const clientId = `${base}${path}`;
  served.set(path, { client_id: clientId, client_name: 'URL-identified client', redirect_uris: ['http://127.0.0.1:7777/cb'], ...metadata });
  return clientId;
}

describe('Client ID Metadata Documents (URL client_id)', () => {
  it('fetches the document from loopback in development and completes code + PKCE + refresh', async () => {
    const clientId = publish('/clients/good.json', {
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
    });
    const { tokens } = await loginAndGetTokens(server, { clientId, redirectUri: 'http://127.0.0.1:7777/cb' });
    expect(JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()).client_id).toBe(clientId);
    const refreshed = await postForm(`${server.url}/token`, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: clientId,
    });
    expect(refreshed.status).toBe(200);
  });

  it('treats a document without token_endpoint_auth_method as a public client', async () => {
    const clientId = publish('/clients/plain.json', {});
    const { tokens } = await loginAndGetTokens(server, { clientId, redirectUri: 'http://127.0.0.1:7777/cb' });
    expect(tokens.access_token).toBeTypeOf('string');
  });

  it('lets the user deny a URL-identified client', async () => {
    const clientId = publish('/clients/consent.json', {});
    const result = await authorize(server, { clientId, redirectUri: 'http://127.0.0.1:7777/cb', decision: 'deny' });
    expect(result.callback?.searchParams.get('error')).toBe('access_denied');
  });

  it('refuses a document whose client_id does not match its URL', async () => {
    served.set('/clients/liar.json', {
      client_id: 'https://someone-else.example/client.json',
      redirect_uris: ['http://127.0.0.1:7777/cb'],
    });
    const { challenge } = pkcePair();
    const response = await fetch(
      `${server.url}/auth?${new URLSearchParams({ client_id: `${base}/clients/liar.json`, redirect_uri: 'http://127.0.0.1:7777/cb', response_type: 'code', scope: 'mcp:tools', code_challenge: challenge, code_challenge_method: 'S256' })}`,
      { redirect: 'manual' },
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('invalid_client');
  });

  it.each([
    ['as a public client', 'none'],
    ['with a key of its own (private_key_jwt)', 'private_key_jwt'],
  ])('never issues client_credentials tokens to a URL client_id, %s', async (_label, method) => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const path = `/clients/machine-${method}.json`;
    const clientId = publish(path, {
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'mcp:tools mcp:admin',
      token_endpoint_auth_method: method,
      ...(method === 'private_key_jwt'
        ? { jwks: { keys: [{ ...(await exportJWK(publicKey)), alg: 'ES256', kid: 'k1' }] }, token_endpoint_auth_signing_alg: 'ES256' }
        : {}),
    });
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(server.url)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(privateKey);
    const form: Record<string, string> =
      method === 'none'
        ? { grant_type: 'client_credentials', client_id: clientId, scope: 'mcp:tools' }
        : {
            grant_type: 'client_credentials',
            scope: 'mcp:tools',
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: assertion,
          };
    const response = await postForm(`${server.url}/token`, form);
    const body = (await response.json()) as { error?: string; access_token?: string };
    expect([400, 401], JSON.stringify(body)).toContain(response.status);
    expect(body.access_token).toBeUndefined();
    expect(body.error).toMatch(/^invalid_client/);
  });

  it('accepts any port for a loopback redirect URI the document lists without application_type, on the same host and path only', async () => {
    const clientId = publish('/clients/portless.json', { redirect_uris: ['http://127.0.0.1/cb'] });
    const { tokens, callback } = await loginAndGetTokens(server, { clientId, redirectUri: 'http://127.0.0.1:53682/cb' });
    expect(callback!.host).toBe('127.0.0.1:53682');
    expect(tokens.access_token).toBeTypeOf('string');
    for (const other of ['http://localhost:53682/cb', 'http://127.0.0.1:53682/other', 'https://127.0.0.1:53682/cb']) {
      const { challenge } = pkcePair();
      const response = await fetch(
        `${server.url}/auth?${new URLSearchParams({ client_id: clientId, redirect_uri: other, response_type: 'code', scope: 'mcp:tools', code_challenge: challenge, code_challenge_method: 'S256' })}`,
        { redirect: 'manual' },
      );
      expect(response.status, other).toBe(400);
      expect(response.headers.get('location')).toBeNull();
    }
  });

  it('refuses a document that names a sector_identifier_uri (400 invalid_client_metadata) without fetching that URL', async () => {
    // A valid sector document on the same loopback server: were it fetched, it would be accepted.
    served.set('/clients/sector.json', ['http://127.0.0.1:7777/cb']);
    const clientId = publish('/clients/sectored.json', { sector_identifier_uri: `${base}/clients/sector.json` });
    const before = requested.length;
    const { challenge } = pkcePair();
    const response = await fetch(
      `${server.url}/auth?${new URLSearchParams({ client_id: clientId, redirect_uri: 'http://127.0.0.1:7777/cb', response_type: 'code', scope: 'mcp:tools', code_challenge: challenge, code_challenge_method: 'S256' })}`,
      { redirect: 'manual' },
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    const page = await response.text();
    expect(page).toContain('invalid_client_metadata');
    expect(page).toContain('sector_identifier_uri is not accepted in a client ID metadata document');
    // The token endpoint refuses the same client (a refused document is not cached: fetched again).
    const token = await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: 'x', client_id: clientId });
    expect(token.status).toBe(400);
    expect(await token.json()).toMatchObject({
      error: 'invalid_client_metadata',
      error_description: 'sector_identifier_uri is not accepted in a client ID metadata document',
    });
    // Only the document was ever asked for, never the sector URL.
    expect(requested.slice(before).length).toBeGreaterThan(0);
    expect(new Set(requested.slice(before))).toEqual(new Set(['/clients/sectored.json']));
  });

  it('refuses a redirect URI the document does not list', async () => {
    const clientId = publish('/clients/strict.json', {});
    const { challenge } = pkcePair();
    const response = await fetch(
      `${server.url}/auth?${new URLSearchParams({ client_id: clientId, redirect_uri: 'http://127.0.0.1:7777/other', response_type: 'code', scope: 'mcp:tools', code_challenge: challenge, code_challenge_method: 'S256' })}`,
      { redirect: 'manual' },
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });
});

describe('Client ID Metadata Documents in production', () => {
  let production: TestAuthServer;
  beforeAll(async () => {
    production = await startAuthServer({ NODE_ENV: 'production', AUTH_ISSUER: 'https://auth.example' });
  });
  afterAll(() => production?.close());

  it('refuses to fetch a document from a loopback address (SSRF guard)', async () => {
    const clientId = publish('/clients/prod.json', {});
    const { challenge } = pkcePair();
    const response = await fetch(
      `http://127.0.0.1:${new URL(production.config.issuer).port || production.config.port}/auth?${new URLSearchParams({ client_id: clientId, redirect_uri: 'http://127.0.0.1:7777/cb', response_type: 'code', scope: 'mcp:tools', code_challenge: challenge, code_challenge_method: 'S256' })}`,
      { redirect: 'manual' },
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('invalid_client');
    expect(production.logs.join('\n')).toMatch(/metadata document fetch failed/);
  });
});
