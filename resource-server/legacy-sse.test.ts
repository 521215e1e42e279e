import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIssuer, type TestIssuer } from './testing/test-issuer.ts';
import { INITIALIZE, MCP_POST_HEADERS, requestFrom, startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

let issuer: TestIssuer;
let rs: RunningResourceServer;

beforeAll(async () => {
  issuer = await startTestIssuer();
  rs = await startResourceServer({ AUTH_ISSUER: issuer.url });
});
afterAll(async () => {
  await rs.close();
  await issuer.close();
});

/** The legacy endpoint's own resource: tokens for /sse and /messages name it. */
const sseUrl = () => `${rs.url}/sse`;
const token = (claims: Record<string, unknown> = {}) => issuer.mint({ claims: { aud: sseUrl(), ...claims } });

async function connect(accessToken: string) {
  const client = new Client({ name: 'legacy-client', version: '1.0.0' });
  const transport = new SSEClientTransport(new URL(`${rs.url}/sse`), {
    requestInit: { headers: { Authorization: `Bearer ${accessToken}` } },
  });
  await client.connect(transport);
  return { client, transport };
}

/** The POST URL the server announced in its `endpoint` event. */
const endpointOf = (transport: SSEClientTransport) => String((transport as unknown as { _endpoint: URL })._endpoint);

describe('legacy HTTP+SSE transport (2024-11-05) behind the same auth', () => {
  it('works with a token: lists tools and calls greet', async () => {
    const { client } = await connect(await token({ sub: 'user-dave' }));
    try {
      expect((await client.listTools()).tools).toHaveLength(4);
      const result = (await client.callTool({ name: 'greet', arguments: { name: 'SSE' } })) as CallToolResult;
      expect(result.content[0]).toEqual({ type: 'text', text: 'Hello, SSE! Your user id is user-dave.' });
    } finally {
      await client.close();
    }
  });

  it('refuses GET /sse without a token with the 401 challenge naming the /sse metadata', async () => {
    const response = await fetch(`${rs.url}/sse`, { headers: { accept: 'text/event-stream' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${rs.url}/.well-known/oauth-protected-resource/sse", scope="mcp:tools"`,
    );
  });

  it('publishes its own Protected Resource Metadata, whose resource is …/sse (RFC 9728 §3.3)', async () => {
    const response = await fetch(`${rs.url}/.well-known/oauth-protected-resource/sse`);
    expect(response.status).toBe(200);
    const metadata = (await response.json()) as Record<string, unknown>;
    const mcp = (await (await fetch(`${rs.url}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
    expect(metadata).toEqual({ ...mcp, resource: sseUrl() });
  });

  it('refuses a token for …/mcp on /sse and on /messages (aud is strict)', async () => {
    const forMcp = await issuer.mint({ claims: { aud: rs.mcpUrl } });
    const stream = await fetch(`${rs.url}/sse`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${forMcp}` } });
    expect(stream.status).toBe(401);
    expect(stream.headers.get('www-authenticate')).toContain('error_description="aud claim invalid"');
    expect(stream.headers.get('www-authenticate')).toContain(`resource_metadata="${rs.url}/.well-known/oauth-protected-resource/sse"`);
    const { client, transport } = await connect(await token());
    try {
      const post = await fetch(endpointOf(transport), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${forMcp}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
      });
      expect(post.status).toBe(401);
    } finally {
      await client.close();
    }
  });

  it('refuses a token for …/sse on /mcp (aud is strict)', async () => {
    const response = await fetch(rs.mcpUrl, {
      method: 'POST',
      headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${await token()}` },
      body: JSON.stringify(INITIALIZE),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error_description="aud claim invalid"');
    expect(response.headers.get('www-authenticate')).toContain(`resource_metadata="${rs.url}/.well-known/oauth-protected-resource/mcp"`);
  });

  it('refuses POST /messages without a token, with a bad token, and from another subject', async () => {
    const { client, transport } = await connect(await token({ sub: 'user-erin' }));
    try {
      const url = endpointOf(transport);
      const body = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' });
      const post = (headers: Record<string, string>) =>
        fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      expect((await post({})).status).toBe(401);
      expect((await post({ authorization: 'Bearer nope' })).status).toBe(401);
      expect((await post({ authorization: `Bearer ${await token({ sub: 'user-mallory' })}` })).status).toBe(404);
      // The same user through another client: the session is bound to both.
      expect((await post({ authorization: `Bearer ${await token({ sub: 'user-erin', client_id: 'another-client' })}` })).status).toBe(404);
      expect((await post({ authorization: `Bearer ${await token({ sub: 'user-erin' })}` })).status).toBe(202);
    } finally {
      await client.close();
    }
  });

  it('applies the session caps to SSE streams: an address over its cap gets 429, another address still gets a stream', async () => {
    const capped = await startResourceServer({ AUTH_ISSUER: issuer.url, MCP_MAX_SESSIONS_PER_IP: '1' });
    const open = (address: string, sub: string) =>
      issuer.mint({ claims: { aud: `${capped.url}/sse`, sub } }).then((t) =>
        requestFrom(address, `${capped.url}/sse`, {
          method: 'GET',
          headers: { authorization: `Bearer ${t}`, accept: 'text/event-stream' },
          stream: true,
        }),
      );
    const streams = [];
    try {
      streams.push(await open('127.0.0.1', 'user-1'));
      expect(streams[0]!.status).toBe(200);
      const refused = await open('127.0.0.1', 'user-2');
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBeDefined();
      expect(JSON.parse(refused.body).error).toMatchObject({ data: { cap: 'ip', limit: 1 } });
      streams.push(await open('127.0.0.2', 'user-3'));
      expect(streams[1]!.status).toBe(200);
    } finally {
      for (const stream of streams) stream.close();
      await capped.close();
    }
  });

  it('checks tool scopes on POST /messages too (403 insufficient_scope)', async () => {
    const { client, transport } = await connect(await token());
    try {
      const response = await fetch(endpointOf(transport), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token()}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'admin_report', arguments: {} } }),
      });
      expect(response.status).toBe(403);
      expect(response.headers.get('www-authenticate')).toContain('scope="mcp:tools mcp:admin"');
    } finally {
      await client.close();
    }
  });

  it('refuses a foreign Origin on /sse', async () => {
    const response = await fetch(`${rs.url}/sse`, { headers: { origin: 'http://evil.example', authorization: `Bearer ${await token()}` } });
    expect(response.status).toBe(403);
  });
});

describe('legacy /sse stream lifetime', () => {
  it('ends the /sse stream (and its session) when the token that opened it expires; POSTs to it then get 404', async () => {
    // No skew allowed here, so the stream's end is the token's exp itself (about a second away).
    const strict = await startResourceServer({ AUTH_ISSUER: issuer.url, RS_CLOCK_TOLERANCE_S: '0' });
    try {
      const exp = Math.floor(Date.now() / 1000) + 1;
      const accessToken = await issuer.mint({ claims: { aud: `${strict.url}/sse`, exp } });
      const stream = await fetch(`${strict.url}/sse`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${accessToken}` } });
      expect(stream.status).toBe(200);
      const text = await stream.text(); // returns only when the server ends the stream
      expect(text).toContain('event: endpoint');
      expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
      const endpoint = /data: (\S+)/.exec(text)![1]!;
      const fresh = await issuer.mint({ claims: { aud: `${strict.url}/sse` } });
      const post = await fetch(new URL(endpoint, strict.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${fresh}` },
        body: JSON.stringify(INITIALIZE),
      });
      expect(post.status).toBe(404);
    } finally {
      await strict.close();
    }
  });
});
