import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIssuer, type TestIssuer } from './testing/test-issuer.ts';
import { INITIALIZE, MCP_POST_HEADERS, startResourceServer, type RunningResourceServer } from './testing/test-server.ts';
import { demoTools } from './tools/index.ts';
import { createToolRegistry, defineTool } from './tools/registry.ts';

// session-transport.ts on the wire: a real resource server, raw HTTP, the headers and framing a
// client sees. The SDK client's view (and sampling/elicitation through a session) is in
// mcp.test.ts and gateway/gateway.test.ts.

/** A tool that runs until the test lets it go, and tells whether it was cancelled. */
function heldTool() {
  let release!: () => void;
  let started!: () => void;
  const state = {
    released: new Promise<void>((resolve) => (release = resolve)),
    started: new Promise<void>((resolve) => (started = resolve)),
    aborted: false,
    release: () => release(),
  };
  const tool = defineTool({
    name: 'held',
    title: 'Held',
    description: 'Waits for the test.',
    requiredScopes: ['mcp:tools'],
    run: async (ctx) => {
      started();
      const signal = ctx.mcpReq.signal;
      await new Promise<void>((resolve) => {
        void state.released.then(resolve);
        signal.addEventListener('abort', () => ((state.aborted = true), resolve()), { once: true });
      });
      return { content: [{ type: 'text', text: 'let go' }] };
    },
  });
  return { tool, state };
}

let issuer: TestIssuer;
let rs: RunningResourceServer;
let held: ReturnType<typeof heldTool>;

beforeAll(async () => {
  issuer = await startTestIssuer();
  held = heldTool();
  rs = await startResourceServer(
    { AUTH_ISSUER: issuer.url, METRICS_ALLOW: '127.0.0.1' },
    { tools: createToolRegistry([...demoTools.tools, held.tool]) },
  );
});
afterAll(async () => {
  await rs.close();
  await issuer.close();
});

async function authHeaders(extra: Record<string, string> = {}) {
  const token = await issuer.mint({ claims: { aud: rs.mcpUrl } });
  return { authorization: `Bearer ${token}`, ...extra };
}

function post(body: unknown, headers: Record<string, string>) {
  return fetch(rs.mcpUrl, {
    method: 'POST',
    headers: { ...MCP_POST_HEADERS, 'mcp-protocol-version': '2025-11-25', ...headers },
    body: JSON.stringify(body),
  });
}

/** Opens a session the way a client does (initialize, then notifications/initialized). */
async function openSession() {
  const auth = await authHeaders();
  const response = await post(INITIALIZE, auth);
  expect(response.status).toBe(200);
  const id = response.headers.get('mcp-session-id')!;
  await response.text();
  const headers = { ...auth, 'mcp-session-id': id };
  expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).status).toBe(202);
  return { id, headers };
}

/** The resource_server_mcp_sessions gauge (/metrics is served to loopback). */
async function openSessions(): Promise<number> {
  const text = await (await fetch(`${rs.url}/metrics`)).text();
  return Number(/^resource_server_mcp_sessions (\d+)$/m.exec(text)![1]);
}

const events = (text: string) =>
  text
    .split('\n\n')
    .filter((chunk) => chunk.startsWith('event: message\ndata: '))
    .map((chunk) => JSON.parse(chunk.slice('event: message\ndata: '.length)) as Record<string, unknown>);

describe('session transport: POST answers', () => {
  it('answers initialize with one JSON body naming the session, then requests with JSON bodies', async () => {
    const response = await post(INITIALIZE, await authHeaders());
    expect(response.headers.get('content-type')).toBe('application/json');
    const id = response.headers.get('mcp-session-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(((await response.json()) as { result: { protocolVersion: string } }).result.protocolVersion).toBe('2025-11-25');

    const { headers } = await openSession();
    const call = await post(
      { jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'greet', arguments: { name: 'Ada' } } },
      headers,
    );
    expect(call.status).toBe(200);
    expect(call.headers.get('content-type')).toBe('application/json');
    const answer = (await call.json()) as { id: string; result: { content: { text: string }[] } };
    expect(answer.id).toBe('a');
    expect(answer.result.content[0]!.text).toMatch(/^Hello, Ada!/);
  });

  it('turns the answer into an SSE stream when progress goes first, the result last', async () => {
    const { headers } = await openSession();
    const call = await post(
      {
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/call',
        params: { name: 'reverse', arguments: { text: 'abc' }, _meta: { progressToken: 'p' } },
      },
      headers,
    );
    expect(call.headers.get('content-type')).toBe('text/event-stream');
    const messages = events(await call.text());
    expect(messages.length).toBeGreaterThan(1);
    expect(messages.slice(0, -1).every((m) => m.method === 'notifications/progress')).toBe(true);
    expect(messages.at(-1)).toMatchObject({ id: 9, result: { content: [{ text: 'cba' }] } });
  });

  it('answers a batch as one JSON array, in the order the responses came', async () => {
    const { headers } = await openSession();
    const response = await post(
      [
        { jsonrpc: '2.0', id: 1, method: 'ping' },
        { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      ],
      headers,
    );
    const answers = (await response.json()) as { id: number }[];
    expect(answers.map((a) => a.id).sort()).toEqual([1, 2]);
  });

  it('takes notifications and client responses with 202 and no body', async () => {
    const { headers } = await openSession();
    const response = await post({ jsonrpc: '2.0', id: 'server-1', result: {} }, headers);
    expect(response.status).toBe(202);
    expect(await response.text()).toBe('');
  });
});

describe('session transport: refusals', () => {
  it('refuses a second initialize in a session, and an initialize batched with anything (400, no session made)', async () => {
    const { headers } = await openSession();
    const again = await post(INITIALIZE, headers);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: { code: -32600, message: 'Invalid Request: Server already initialized' } });

    const before = await openSessions();
    const batched = await post([INITIALIZE, { jsonrpc: '2.0', id: 2, method: 'ping' }], await authHeaders());
    expect(batched.status).toBe(400);
    expect(batched.headers.get('mcp-session-id')).toBeNull();
    expect(await batched.json()).toMatchObject({ error: { code: -32600 } });
    expect(await openSessions()).toBe(before);
  });

  it('refuses a protocol version it does not speak, a POST that does not accept SSE, and PUT', async () => {
    const { headers } = await openSession();
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
    const version = await post(ping, { ...headers, 'mcp-protocol-version': '1999-01-01' });
    expect(version.status).toBe(400);
    expect(await version.json()).toMatchObject({ error: { message: 'Bad Request: Unsupported protocol version: 1999-01-01' } });
    expect((await post(ping, { ...headers, accept: 'application/json' })).status).toBe(406);
    const put = await fetch(rs.mcpUrl, { method: 'PUT', headers });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST, DELETE');
  });

  it('refuses a request id that is still in flight in the session, and serves it again once answered', async () => {
    const { headers } = await openSession();
    const call = { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'held', arguments: {} } };
    const first = post(call, headers);
    await held.state.started;
    const reused = await post({ jsonrpc: '2.0', id: 5, method: 'ping' }, headers);
    expect(reused.status).toBe(400);
    expect(await reused.json()).toMatchObject({ error: { code: -32600, message: 'Invalid Request: request id 5 is already in use' } });
    held.state.release();
    expect(await (await first).json()).toMatchObject({ id: 5, result: { content: [{ text: 'let go' }] } });
    expect(await (await post({ jsonrpc: '2.0', id: 5, method: 'ping' }, headers)).json()).toMatchObject({ id: 5, result: {} });
  });
});

describe('session transport: GET stream and DELETE', () => {
  it('gives one GET stream per session (406 without SSE in Accept, 409 for a second), and DELETE ends it and the session', async () => {
    const { headers } = await openSession();
    expect((await fetch(rs.mcpUrl, { headers: { ...headers, accept: 'application/json' } })).status).toBe(406);
    const stream = await fetch(rs.mcpUrl, { headers: { ...headers, accept: 'text/event-stream' } });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    const second = await fetch(rs.mcpUrl, { headers: { ...headers, accept: 'text/event-stream' } });
    expect(second.status).toBe(409);

    const deleted = await fetch(rs.mcpUrl, { method: 'DELETE', headers });
    expect(deleted.status).toBe(200);
    // The stream ends with the session: reading it to the end returns.
    expect(await stream.text()).toBe('');
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, headers)).status).toBe(404);
  });

  it('takes a new GET stream once the first is closed by the client', async () => {
    const { headers } = await openSession();
    const controller = new AbortController();
    const first = await fetch(rs.mcpUrl, { headers: { ...headers, accept: 'text/event-stream' }, signal: controller.signal });
    expect(first.status).toBe(200);
    controller.abort();
    // The server learns of the close asynchronously: retry until it has (bounded, no sleep).
    let status = 409;
    for (let attempt = 0; attempt < 50 && status === 409; attempt++) {
      const next = await fetch(rs.mcpUrl, { headers: { ...headers, accept: 'text/event-stream' } });
      status = next.status;
      await next.body?.cancel();
    }
    expect(status).toBe(200);
  });
});

describe('session transport: cancellation', () => {
  it('a client that disconnects does not cancel its request (transport spec); notifications/cancelled does', async () => {
    const fresh = heldTool();
    const server = await startResourceServer({ AUTH_ISSUER: issuer.url }, { tools: createToolRegistry([fresh.tool]) });
    try {
      const token = await issuer.mint({ claims: { aud: server.mcpUrl } });
      const init = await fetch(server.mcpUrl, {
        method: 'POST',
        headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${token}` },
        body: JSON.stringify(INITIALIZE),
      });
      const headers = {
        ...MCP_POST_HEADERS,
        authorization: `Bearer ${token}`,
        'mcp-session-id': init.headers.get('mcp-session-id')!,
      };
      const call = { jsonrpc: '2.0', id: 'c', method: 'tools/call', params: { name: 'held', arguments: {} } };
      const controller = new AbortController();
      const pending = fetch(server.mcpUrl, { method: 'POST', headers, body: JSON.stringify(call), signal: controller.signal });
      await fresh.state.started;
      controller.abort();
      await expect(pending).rejects.toThrow();
      // Still running: the session keeps serving, and the tool ends only on an explicit cancel.
      const ping = await fetch(server.mcpUrl, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) });
      expect(ping.status).toBe(200);
      expect(fresh.state.aborted).toBe(false);
      const cancel = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'c', reason: 'test' } };
      expect((await fetch(server.mcpUrl, { method: 'POST', headers, body: JSON.stringify(cancel) })).status).toBe(202);
      for (let attempt = 0; attempt < 50 && !fresh.state.aborted; attempt++) await new Promise((resolve) => setImmediate(resolve));
      expect(fresh.state.aborted).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('session and stateless transports: a slow answer is kept alive', () => {
  it('turns a request still running after the keep-alive interval into SSE with keep-alive comments, then sends its result', async () => {
    for (const env of [{}, { MCP_STATELESS: '1' }] as Record<string, string>[]) {
      const slow = heldTool();
      const server = await startResourceServer(
        { AUTH_ISSUER: issuer.url, ...env },
        { tools: createToolRegistry([slow.tool]), sseKeepAliveMs: 50 },
      );
      try {
        const token = await issuer.mint({ claims: { aud: server.mcpUrl } });
        let headers: Record<string, string> = { ...MCP_POST_HEADERS, authorization: `Bearer ${token}` };
        if (!('MCP_STATELESS' in env)) {
          const init = await fetch(server.mcpUrl, { method: 'POST', headers, body: JSON.stringify(INITIALIZE) });
          headers = { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id')! };
          await init.text();
        }
        const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'held', arguments: {} } };
        const response = await fetch(server.mcpUrl, { method: 'POST', headers, body: JSON.stringify(call) });
        // Headers arrive only once the keep-alive turned the answer into a stream.
        expect(response.headers.get('content-type'), JSON.stringify(env)).toBe('text/event-stream');
        const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
        expect((await reader.read()).value).toContain(': keepalive\n\n');
        slow.state.release();
        let rest = '';
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += chunk.value;
        expect(events(rest).at(-1)).toMatchObject({ id: 1, result: { content: [{ text: 'let go' }] } });
      } finally {
        await server.close();
      }
    }
  });
});
