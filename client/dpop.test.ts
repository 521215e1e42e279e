import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { dpopKeyFrom, dpopResourceFetch, newDpopKey } from './dpop.ts';

/** A loopback resource server that answers each request with the next scripted response. */
async function server(answers: ((req: IncomingMessage) => { status: number; headers?: Record<string, string> })[]) {
  const seen: { headers: IncomingMessage['headers']; body: string; method?: string; url?: string }[] = [];
  const http: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body, method: req.method, url: req.url });
      const answer = (answers[seen.length - 1] ?? answers.at(-1)!)(req);
      res.writeHead(answer.status, answer.headers).end('{}');
    });
  });
  await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
  servers.push(http);
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, seen };
}
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((done) => s.close(done));
});

const nonceChallenge = (nonce: string) => () => ({
  status: 401,
  headers: { 'www-authenticate': 'DPoP error="use_dpop_nonce", algs="ES256"', 'dpop-nonce': nonce },
});
const ok = () => ({ status: 200, headers: { 'content-type': 'application/json' } });

async function verifiedProof(proof: string) {
  const header = decodeProtectedHeader(proof);
  const { payload } = await jwtVerify(proof, await importJWK(header.jwk as JWK, header.alg), { typ: 'dpop+jwt' });
  return { header, payload };
}

describe('DPoP in the command-line client', () => {
  it('caches the key as a private JWK that loads back to the same key (same thumbprint)', async () => {
    const key = await newDpopKey();
    expect(key.jwk).toMatchObject({ kty: 'EC', crv: 'P-256', d: expect.any(String) });
    const loaded = await dpopKeyFrom(key.jwk);
    expect(await loaded.handle.calculateThumbprint()).toBe(await key.handle.calculateThumbprint());
    const { d: _d, ...publicJwk } = key.jwk as JWK;
    expect(await loaded.handle.calculateThumbprint()).toBe(await calculateJwkThumbprint(publicJwk));
  });

  it('sends Authorization: DPoP and a proof with htm, htu without the query, ath and the public key only', async () => {
    const rs = await server([ok]);
    const key = await newDpopKey();
    const response = await dpopResourceFetch(key.handle, 'the-token', `${rs.url}?x=1`, { method: 'POST', body: '{"a":1}' }, fetch);
    expect(response.status).toBe(200);
    const [request] = rs.seen;
    expect(request!.headers.authorization).toBe('DPoP the-token');
    expect(request!.body).toBe('{"a":1}');
    const { header, payload } = await verifiedProof(request!.headers.dpop as string);
    expect(header.jwk).not.toHaveProperty('d');
    expect(payload).toMatchObject({
      htm: 'POST',
      htu: rs.url,
      ath: createHash('sha256').update('the-token').digest('base64url'),
    });
  });

  it('repeats a request refused with use_dpop_nonce once, with the server nonce, and keeps the nonce for the next request', async () => {
    const rs = await server([nonceChallenge('n-1'), ok, ok]);
    const key = await newDpopKey();
    const first = await dpopResourceFetch(key.handle, 't', rs.url, { method: 'POST', body: 'same body' }, fetch);
    expect(first.status).toBe(200);
    expect(rs.seen.map((r) => r.body)).toEqual(['same body', 'same body']);
    expect(decodeJwt(rs.seen[0]!.headers.dpop as string).nonce).toBeUndefined();
    expect(decodeJwt(rs.seen[1]!.headers.dpop as string).nonce).toBe('n-1');
    // A fresh proof each time: never the same jti.
    expect(decodeJwt(rs.seen[1]!.headers.dpop as string).jti).not.toBe(decodeJwt(rs.seen[0]!.headers.dpop as string).jti);

    await dpopResourceFetch(key.handle, 't', rs.url, { method: 'GET' }, fetch);
    expect(decodeJwt(rs.seen[2]!.headers.dpop as string)).toMatchObject({ nonce: 'n-1', htm: 'GET' });
  });

  it('retries use_dpop_nonce only once: a server that keeps asking gets its 401 back, not a loop', async () => {
    const rs = await server([nonceChallenge('a'), nonceChallenge('b'), ok]);
    const response = await dpopResourceFetch((await newDpopKey()).handle, 't', rs.url, { method: 'POST', body: '' }, fetch);
    expect(response.status).toBe(401);
    expect(rs.seen).toHaveLength(2);
  });

  it('returns any other challenge (invalid_token, insufficient_scope) untouched, for the session to refresh or step up', async () => {
    for (const challenge of ['DPoP error="invalid_token"', 'DPoP error="insufficient_scope", scope="mcp:admin"']) {
      const status = challenge.includes('insufficient_scope') ? 403 : 401;
      const rs = await server([() => ({ status, headers: { 'www-authenticate': challenge } }), ok]);
      const response = await dpopResourceFetch((await newDpopKey()).handle, 't', rs.url, { method: 'POST', body: '' }, fetch);
      expect(response.status).toBe(status);
      expect(response.headers.get('www-authenticate')).toBe(challenge);
      expect(rs.seen).toHaveLength(1);
    }
  });
});
