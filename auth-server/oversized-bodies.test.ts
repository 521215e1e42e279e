import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postForm, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

let server: TestAuthServer;
beforeAll(async () => {
  server = await startAuthServer();
});
afterAll(() => server?.close());

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * POSTs `size` bytes with Transfer-Encoding: chunked (no Content-Length, so the server only finds
 * out while reading). Resolves with the response, even when the server closes the connection
 * before the whole body was sent.
 */
function postChunked(path: string, contentType: string, size: number): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, server.url);
    const req = request(
      {
        host: '127.0.0.1',
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': contentType, 'transfer-encoding': 'chunked' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    // Once the server has answered and closed, writing the rest fails (EPIPE/ECONNRESET): expected.
    req.on('error', (error) => (req.writableEnded ? undefined : reject(error)));
    const chunk = Buffer.alloc(4096, 'a');
    let sent = 0;
    const write = (): void => {
      while (sent < size) {
        sent += chunk.length;
        if (req.destroyed) return;
        if (!req.write(chunk)) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

const OVER_LIMIT = 100 * 1024;

describe('chunked request bodies over the limit', () => {
  it('/token answers 413 with the OAuth error JSON and Connection: close, never a 500', async () => {
    const response = await postChunked('/token', 'application/x-www-form-urlencoded', OVER_LIMIT);
    expect(response.status).toBe(413);
    expect(response.headers.connection).toBe('close');
    expect(JSON.parse(response.body)).toMatchObject({ error: 'invalid_request', error_description: 'request body too large' });
  });

  it('/reg answers 413 with the OAuth error JSON and Connection: close, never a 500', async () => {
    const response = await postChunked('/reg', 'application/json', OVER_LIMIT);
    expect(response.status).toBe(413);
    expect(response.headers.connection).toBe('close');
    expect(JSON.parse(response.body)).toMatchObject({ error: 'invalid_client_metadata', error_description: 'request body too large' });
  });

  it('leaves the server answering the next requests, and logs no server error', async () => {
    await Promise.all([
      postChunked('/token', 'application/x-www-form-urlencoded', OVER_LIMIT),
      postChunked('/reg', 'application/json', OVER_LIMIT),
    ]);
    const client = await registerPublicClient(server);
    const token = await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: 'x', client_id: client.client_id });
    expect(token.status).toBe(400);
    expect(await token.json()).toMatchObject({ error: 'invalid_grant' });
    expect(server.logs.filter((line) => JSON.parse(line).level >= 50)).toEqual([]);
  });

  it('a chunked body under the limit is still read whole', async () => {
    const response = await postChunked('/token', 'application/x-www-form-urlencoded', 40 * 1024);
    // 40 KiB of "a": a form with one nameless parameter, so the token endpoint's own complaint.
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ error: 'invalid_request' });
  });
});
