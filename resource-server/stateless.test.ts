import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIssuer, type TestIssuer } from './testing/test-issuer.ts';
import { MCP_POST_HEADERS, startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

let issuer: TestIssuer;
let rs: RunningResourceServer;

beforeAll(async () => {
  issuer = await startTestIssuer();
  rs = await startResourceServer({ AUTH_ISSUER: issuer.url, MCP_STATELESS: '1' });
});
afterAll(async () => {
  await rs.close();
  await issuer.close();
});

const token = (claims: Record<string, unknown> = {}) => issuer.mint({ claims: { aud: rs.mcpUrl, ...claims } });
const post = async (body: unknown, claims: Record<string, unknown> = {}) =>
  fetch(rs.mcpUrl, {
    method: 'POST',
    headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${await token(claims)}` },
    body: JSON.stringify(body),
  });
const call = (id: number | string, name: string, args: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

describe('MCP_STATELESS=1: no sessions, for horizontal scaling', () => {
  it('serves the SDK client without a session id: tools, calls and progress', async () => {
    const client = new Client({ name: 'stateless-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(rs.mcpUrl), {
      requestInit: { headers: { Authorization: `Bearer ${await token({ sub: 'user-frank' })}` } },
    });
    await client.connect(transport);
    try {
      expect(transport.sessionId).toBeUndefined();
      expect((await client.listTools()).tools).toHaveLength(4);
      const greeting = (await client.callTool({ name: 'greet', arguments: { name: 'LB' } })) as CallToolResult;
      expect(greeting.content[0]).toEqual({ type: 'text', text: 'Hello, LB! Your user id is user-frank.' });
      const progress: number[] = [];
      const reversed = (await client.callTool({ name: 'reverse', arguments: { text: 'abc' } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      })) as CallToolResult;
      expect(reversed.content[0]).toEqual({ type: 'text', text: 'cba' });
      expect(progress).toEqual([1, 2, 3, 4]);
    } finally {
      await client.close();
    }
  });

  it('answers a plain call with one JSON body and no Mcp-Session-Id', async () => {
    const response = await post(call(1, 'greet', { name: 'json' }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('mcp-session-id')).toBeNull();
    expect(await response.json()).toMatchObject({
      jsonrpc: '2.0',
      id: 1,
      result: { content: [{ text: 'Hello, json! Your user id is user-alice.' }] },
    });
  });

  it('keeps concurrent callers apart even when they use the same JSON-RPC id', async () => {
    const names = Array.from({ length: 25 }, (_, i) => `caller-${i}`);
    const answers = await Promise.all(names.map(async (name) => (await post(call(1, 'greet', { name }), { sub: `sub-${name}` })).json()));
    answers.forEach((answer, i) => {
      expect(answer.id).toBe(1);
      expect(answer.result.content[0].text).toBe(`Hello, ${names[i]}! Your user id is sub-${names[i]}.`);
    });
  });

  it('answers a batch with an array of responses carrying the client ids', async () => {
    const response = await post([call('a', 'greet', { name: 'x' }), { jsonrpc: '2.0', id: 'b', method: 'tools/list' }]);
    const answers = (await response.json()) as { id: string }[];
    expect(answers.map((a) => a.id).sort()).toEqual(['a', 'b']);
  });

  it('still checks scopes before dispatch (403)', async () => {
    const response = await post(call(1, 'admin_report', {}));
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope", scope="mcp:tools mcp:admin"');
  });

  it('accepts notifications with 202 and refuses GET and DELETE with 405', async () => {
    expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);
    const auth = { authorization: `Bearer ${await token()}` };
    expect((await fetch(rs.mcpUrl, { headers: { ...auth, accept: 'text/event-stream' } })).status).toBe(405);
    expect((await fetch(rs.mcpUrl, { method: 'DELETE', headers: auth })).status).toBe(405);
  });

  it('answers invalid JSON-RPC and a wrong Accept header with 4xx, never 500', async () => {
    expect((await post({ jsonrpc: '1.0', id: 1 })).status).toBe(400);
    expect((await post([])).status).toBe(400);
    const response = await fetch(rs.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${await token()}` },
      body: JSON.stringify(call(1, 'whoami', {})),
    });
    expect(response.status).toBe(406);
  });
});
