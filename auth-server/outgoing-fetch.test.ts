import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cappedFetch } from './provider/capped-fetch.ts';
import { postForm, postJson, startAuthServer, type TestAuthServer } from './testing/harness.ts';
import { selfSignedCertificate } from './testing/tls.ts';

const HUGE = 8 * 1024 * 1024;
const LIMIT = 64 * 1024;

/**
 * A real loopback server: `/huge` answers 8 MiB (chunked, or with Content-Length), `/small` a
 * short JSON; over http, and over https for URLs that must be https (sector_identifier_uri).
 */
let upstream: Server;
let secureUpstream: Server;
let base: string;
let secureBase: string;
const hits: string[] = [];
/** Bytes `/huge` got onto the wire before the reader hung up, per request. */
const written: number[] = [];
const originalCAs = tls.getCACertificates('default');

beforeAll(async () => {
  const { key, cert } = selfSignedCertificate();
  // Trusted, so that nothing but the SSRF guard stands between the auth server and this server.
  tls.setDefaultCACertificates([...originalCAs, cert]);
  upstream = createServer(answer);
  secureUpstream = createHttpsServer({ key, cert }, answer);
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => secureUpstream.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  secureBase = `https://localhost:${(secureUpstream.address() as AddressInfo).port}`;
});
afterAll(async () => {
  tls.setDefaultCACertificates(originalCAs);
  await new Promise((resolve) => upstream?.close(resolve));
  await new Promise((resolve) => secureUpstream?.close(resolve));
});

function answer(req: IncomingMessage, res: ServerResponse) {
  hits.push(req.url ?? '');
  if (req.url === '/small') return void res.end(JSON.stringify({ ok: true }));
  const declared = req.url === '/huge-declared';
  res.writeHead(200, { 'content-type': 'application/json', ...(declared ? { 'content-length': String(HUGE) } : {}) });
  const chunk = Buffer.alloc(16 * 1024, 0x20);
  let sent = 0;
  const pump = (): void => {
    while (sent < HUGE && !res.destroyed) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end();
  };
  res.on('close', () => written.push(sent));
  pump();
}

describe('outgoing response bodies are capped', () => {
  const capped = cappedFetch(globalThis.fetch, LIMIT);

  it('stops reading a chunked 8 MiB answer past the limit and fails with a clear error', async () => {
    const before = written.length;
    const response = await capped(`${base}/huge`, {});
    await expect(response.arrayBuffer()).rejects.toThrow(`response body from ${base}/huge exceeds ${LIMIT} bytes`);
    await expect.poll(() => written.length).toBeGreaterThan(before);
    // The upstream was cut off long before it could send everything (socket buffers hold a few MiB at most).
    expect(written.at(-1)!).toBeLessThan(HUGE);
  });

  it('refuses an answer whose Content-Length is over the limit before reading it', async () => {
    await expect(capped(`${base}/huge-declared`, {})).rejects.toThrow(`response body from ${base}/huge-declared exceeds ${LIMIT} bytes`);
  });

  it('passes a small answer through unchanged', async () => {
    const response = await capped(`${base}/small`, {});
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });
});

describe('registration-time fetches', () => {
  let server: TestAuthServer;
  const OPERATOR_TOKEN = 'operator-initial-access-token-123';
  let operatorServer: TestAuthServer;
  beforeAll(async () => {
    server = await startAuthServer(); // NODE_ENV=test: development-style relaxations apply
    operatorServer = await startAuthServer({ AUTH_INITIAL_ACCESS_TOKEN: OPERATOR_TOKEN });
  });
  afterAll(async () => {
    await server?.close();
    await operatorServer?.close();
  });

  it('open registration refuses sector_identifier_uri (400 invalid_client_metadata) without fetching it', async () => {
    const before = hits.length;
    const response = await postJson(`${server.url}/reg`, {
      redirect_uris: ['http://127.0.0.1:1/cb'],
      sector_identifier_uri: `${secureBase}/huge`,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: 'invalid_client_metadata',
      error_description: 'sector_identifier_uri is not accepted in open registration',
    });
    expect(hits.length).toBe(before);
  });

  it('open registration refuses it in an RFC 7592 update too', async () => {
    const created = (await (await postJson(`${server.url}/reg`, { redirect_uris: ['http://127.0.0.1:1/cb'] })).json()) as Record<
      string,
      any
    >;
    const before = hits.length;
    const response = await fetch(created.registration_client_uri, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${created.registration_access_token}` },
      body: JSON.stringify({
        client_id: created.client_id,
        redirect_uris: ['http://127.0.0.1:1/cb'],
        token_endpoint_auth_method: 'none',
        sector_identifier_uri: `${secureBase}/huge`,
      }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: 'invalid_client_metadata',
      error_description: 'sector_identifier_uri is not accepted in open registration',
    });
    expect(hits.length).toBe(before);
  });

  it('an operator registration may name one, but the SSRF guard still keeps the fetch off loopback in development', async () => {
    const before = hits.length;
    const response = await postJson(
      `${operatorServer.url}/reg`,
      { redirect_uris: ['http://127.0.0.1:1/cb'], sector_identifier_uri: `${secureBase}/huge` },
      { authorization: `Bearer ${OPERATOR_TOKEN}` },
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: 'invalid_client_metadata',
      error_description: 'could not load sector_identifier_uri response',
    });
    expect(hits.length).toBe(before);
  });

  it('a client-supplied jwks_uri on loopback is not fetched in development (the relaxation is for CIMD documents only)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const before = hits.length;
    // client_credentials needs an operator registration (the initial access token) since open
    // registration refuses it; the operator server runs in development mode too.
    const registered = await postJson(
      `${operatorServer.url}/reg`,
      {
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: `${base}/small`,
      },
      { authorization: `Bearer ${OPERATOR_TOKEN}` },
    );
    expect(registered.status).toBe(201);
    const { client_id } = (await registered.json()) as { client_id: string };
    expect(await exportJWK(publicKey)).toHaveProperty('x');
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(client_id)
      .setSubject(client_id)
      .setAudience(operatorServer.url)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(privateKey);
    const token = await postForm(`${operatorServer.url}/token`, {
      grant_type: 'client_credentials',
      scope: 'mcp:tools',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    });
    expect(token.status).toBe(401);
    expect(await token.json()).toMatchObject({ error: 'invalid_client' });
    expect(hits.length).toBe(before);
  });
});
