import { once } from 'node:events';
import { Agent, request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from './json-rpc.ts';
import { startTestIssuer, type TestIssuer } from './testing/test-issuer.ts';
import { MCP_POST_HEADERS, startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

let issuer: TestIssuer;
let rs: RunningResourceServer;
/** One keep-alive agent per test, so a connection left hanging by one test cannot stall the next. */
const agents: Agent[] = [];
const keepAliveAgent = () => agents[agents.push(new Agent({ keepAlive: true, maxSockets: 1 })) - 1]!;

beforeAll(async () => {
  issuer = await startTestIssuer();
  rs = await startResourceServer({ AUTH_ISSUER: issuer.url });
});
afterAll(async () => {
  for (const agent of agents) agent.destroy();
  await rs.close();
  await issuer.close();
});

interface Outcome {
  status: number;
  connection: string | undefined;
  body: unknown;
  /** Resolves when the client's socket closed (the server ended the connection). */
  closed: Promise<void>;
}

/**
 * POSTs `total` bytes with Transfer-Encoding: chunked over a keep-alive agent (as a reusing
 * proxy would), and stops sending once the answer arrives.
 */
async function postChunked(total: number, headers: Record<string, string>): Promise<Outcome> {
  const req = request(rs.mcpUrl, {
    method: 'POST',
    agent: keepAliveAgent(),
    headers: { ...MCP_POST_HEADERS, ...headers, 'transfer-encoding': 'chunked' },
  });
  // The server may stop reading mid-body; a write after that fails, which is expected here.
  req.on('error', () => undefined);
  const socket = new Promise<Socket>((resolve) => req.once('socket', resolve));
  const response = once(req, 'response').then(([res]) => res as IncomingMessage);
  let answered = false;
  void response.then(() => (answered = true));
  const chunk = Buffer.alloc(64 * 1024, ' ');
  req.write('[');
  for (let sent = 0; sent < total && !answered && !req.destroyed; sent += chunk.length) {
    if (!req.write(chunk)) await Promise.race([once(req, 'drain'), response]);
  }
  if (!answered) req.end();
  const res = await response;
  const closed = once(await socket, 'close').then(() => undefined);
  const text = await new Promise<string>((resolve) => {
    let data = '';
    res
      .setEncoding('utf8')
      .on('data', (d: string) => (data += d))
      .on('end', () => resolve(data))
      .on('error', () => resolve(data));
  });
  return { status: res.statusCode!, connection: res.headers.connection, body: JSON.parse(text), closed };
}

describe('an oversized chunked body', () => {
  it('gets 413 with the JSON-RPC error, Connection: close, and the server closes the keep-alive connection at once', async () => {
    const token = await issuer.mint({ claims: { aud: rs.mcpUrl } });
    const outcome = await postChunked(6 * 1024 * 1024, { authorization: `Bearer ${token}` });
    expect(outcome.status).toBe(413);
    expect(outcome.body).toEqual({ jsonrpc: '2.0', error: { code: -32000, message: 'Payload Too Large' }, id: null });
    expect(outcome.connection).toBe('close');
    // Without the fix the connection stays open until the server's keep-alive timeout (~66 s), and
    // this await outlives the test timeout.
    await outcome.closed;
  });

  it('closes the connection after a 413 for an announced Content-Length past the limit too', async () => {
    const token = await issuer.mint({ claims: { aud: rs.mcpUrl } });
    const req = request(rs.mcpUrl, {
      method: 'POST',
      agent: keepAliveAgent(),
      headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${token}`, 'content-length': String(MAX_BODY_BYTES + 1) },
    });
    req.on('error', () => undefined);
    const socket = new Promise<Socket>((resolve) => req.once('socket', resolve));
    req.write('[');
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    const closed = once(await socket, 'close');
    res.resume();
    expect(res.statusCode).toBe(413);
    expect(res.headers.connection).toBe('close');
    await closed;
  });

  it('keeps the connection open after an ordinary answer (only a body left unread closes it)', async () => {
    const token = await issuer.mint({ claims: { aud: rs.mcpUrl } });
    const req = request(rs.mcpUrl, {
      method: 'POST',
      agent: keepAliveAgent(),
      headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${token}` },
    });
    req.end('{"jsonrpc": "2.0", "id": 1,');
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    res.resume();
    await once(res, 'end');
    expect(res.statusCode).toBe(400);
    expect(res.headers.connection).toBe('keep-alive');
  });
});
