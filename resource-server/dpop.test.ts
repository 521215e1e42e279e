import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Base64url } from './dpop.ts';
import { startTestIssuer, type TestIssuer } from './testing/test-issuer.ts';
import { INITIALIZE, MCP_POST_HEADERS, startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

let issuer: TestIssuer;
let rs: RunningResourceServer;
let clientKey: { privateKey: CryptoKey; jwk: JWK; jkt: string };

async function newClientKey() {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

beforeAll(async () => {
  issuer = await startTestIssuer();
  rs = await startResourceServer({ AUTH_ISSUER: issuer.url, MCP_STATELESS: '1' });
  clientKey = await newClientKey();
});
afterAll(async () => {
  await rs.close();
  await issuer.close();
});

/** A DPoP-bound access token (cnf.jkt), as oidc-provider issues when the client sent a proof. */
const boundToken = (jkt = clientKey.jkt) => issuer.mint({ claims: { aud: rs.mcpUrl, cnf: { jkt } } });

interface ProofOptions {
  htm?: string;
  htu?: string;
  iat?: number;
  ath?: string | undefined;
  jti?: string;
  key?: { privateKey: CryptoKey; jwk: JWK };
  typ?: string;
}

function proof(accessToken: string, options: ProofOptions = {}) {
  const key = options.key ?? clientKey;
  const claims: Record<string, unknown> = {
    htm: options.htm ?? 'POST',
    htu: options.htu ?? rs.mcpUrl,
    iat: options.iat ?? Math.floor(Date.now() / 1000),
    jti: options.jti ?? crypto.randomUUID(),
    ath: 'ath' in options ? options.ath : sha256Base64url(accessToken),
  };
  return new SignJWT(Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined)))
    .setProtectedHeader({ alg: 'ES256', typ: options.typ ?? 'dpop+jwt', jwk: key.jwk })
    .sign(key.privateKey);
}

function send(headers: Record<string, string>, url = rs.mcpUrl) {
  return fetch(url, { method: 'POST', headers: { ...MCP_POST_HEADERS, ...headers }, body: JSON.stringify(INITIALIZE) });
}

async function expectDpopError(response: Response, error = 'invalid_dpop_proof') {
  expect(response.status).toBe(401);
  const challenge = response.headers.get('www-authenticate') ?? '';
  expect(challenge).toMatch(new RegExp(`^DPoP error="${error}"`));
  expect(challenge).toMatch(/algs="[^"]*ES256/);
}

describe('RFC 9449 DPoP sender-constrained tokens', () => {
  it('accepts a bound token with Authorization: DPoP and a valid proof for this request', async () => {
    const token = await boundToken();
    expect((await send({ authorization: `DPoP ${token}`, dpop: await proof(token) })).status).toBe(200);
  });

  it('still checks the proof on every request (a cached token verification is not enough)', async () => {
    const token = await boundToken();
    expect((await send({ authorization: `DPoP ${token}`, dpop: await proof(token) })).status).toBe(200);
    await expectDpopError(await send({ authorization: `DPoP ${token}` }));
  });

  it('rejects a bound token without a proof', async () => {
    await expectDpopError(await send({ authorization: `DPoP ${await boundToken()}` }));
  });

  it('rejects a bound token presented as a plain Bearer token', async () => {
    const token = await boundToken();
    await expectDpopError(await send({ authorization: `Bearer ${token}`, dpop: await proof(token) }), 'invalid_token');
  });

  it('rejects a proof for another URL (htu)', async () => {
    const token = await boundToken();
    await expectDpopError(await send({ authorization: `DPoP ${token}`, dpop: await proof(token, { htu: 'http://127.0.0.1:1/mcp' }) }));
  });

  it('rejects a proof for another method (htm)', async () => {
    const token = await boundToken();
    await expectDpopError(await send({ authorization: `DPoP ${token}`, dpop: await proof(token, { htm: 'GET' }) }));
  });

  it('rejects a proof bound to another access token (ath) or without ath', async () => {
    const token = await boundToken();
    await expectDpopError(await send({ authorization: `DPoP ${token}`, dpop: await proof(token, { ath: sha256Base64url('other') }) }));
    await expectDpopError(await send({ authorization: `DPoP ${token}`, dpop: await proof(token, { ath: undefined }) }));
  });

  it('rejects a proof signed by a key other than the one the token is bound to', async () => {
    const token = await boundToken();
    await expectDpopError(await send({ authorization: `DPoP ${token}`, dpop: await proof(token, { key: await newClientKey() }) }));
  });

  it('rejects a replayed proof (same jti)', async () => {
    const token = await boundToken();
    const once = await proof(token, { jti: 'only-once' });
    expect((await send({ authorization: `DPoP ${token}`, dpop: once })).status).toBe(200);
    await expectDpopError(await send({ authorization: `DPoP ${token}`, dpop: once }));
  });

  it('rejects a proof whose iat is outside the window', async () => {
    const token = await boundToken();
    await expectDpopError(
      await send({ authorization: `DPoP ${token}`, dpop: await proof(token, { iat: Math.floor(Date.now() / 1000) - 600 }) }),
    );
    await expectDpopError(
      await send({ authorization: `DPoP ${token}`, dpop: await proof(token, { iat: Math.floor(Date.now() / 1000) + 600 }) }),
    );
  });

  it('rejects a proof whose typ is not dpop+jwt', async () => {
    const token = await boundToken();
    await expectDpopError(await send({ authorization: `DPoP ${token}`, dpop: await proof(token, { typ: 'JWT' }) }));
  });

  it('rejects an unbound token under the DPoP scheme', async () => {
    const token = await issuer.mint({ claims: { aud: rs.mcpUrl } });
    await expectDpopError(await send({ authorization: `DPoP ${token}`, dpop: await proof(token) }), 'invalid_token');
  });

  it('ignores the query string when comparing htu', async () => {
    const token = await boundToken();
    expect((await send({ authorization: `DPoP ${token}`, dpop: await proof(token, { htu: `${rs.mcpUrl}?x=1` }) })).status).toBe(200);
  });

  it('keeps plain (unbound) bearer tokens working', async () => {
    const token = await issuer.mint({ claims: { aud: rs.mcpUrl } });
    expect((await send({ authorization: `Bearer ${token}` })).status).toBe(200);
  });
});
