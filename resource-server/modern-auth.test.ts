import { Client } from '@modelcontextprotocol/client';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIssuer, type TestIssuer } from './testing/test-issuer.ts';
import { jsonRpcAnswer, MODERN_PROTOCOL, postModern, startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

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

const token = (scope: string) => issuer.mint({ claims: { aud: rs.mcpUrl, scope } });

const post = (method: string, params: Record<string, unknown>, headers: Record<string, string> = {}) =>
  postModern(rs.mcpUrl, method, params, headers);

// 2026-07-28 is stateless: each request brings its own token, so every entry point is protected
// exactly like the 2025 ones. server/discover too: the authorization spec asks for a token on
// every HTTP request to a protected MCP server and exempts no method.
describe('the 2026-07-28 entry with auth on', () => {
  it('answers server/discover without a token with the 401 challenge', async () => {
    const response = await post('server/discover', {});
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata="[^"]+", scope="mcp:tools"/);
  });

  it('answers server/discover with a token', async () => {
    const response = await post('server/discover', {}, { authorization: `Bearer ${await token('mcp:tools')}` });
    expect(response.status).toBe(200);
  });

  it('refuses a tools/call without the tool’s scope with 403 insufficient_scope, before the SDK sees it', async () => {
    const response = await post(
      'tools/call',
      { name: 'admin_report', arguments: {} },
      { authorization: `Bearer ${await token('mcp:tools')}`, 'mcp-name': 'admin_report' },
    );
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(response.headers.get('www-authenticate')).toMatch(/scope="[^"]*mcp:admin[^"]*"/);
  });

  it('marks tools/list as cacheable by shared caches: every caller sees the same list', async () => {
    const response = await post('tools/list', {}, { authorization: `Bearer ${await token('mcp:tools')}` });
    expect(response.status).toBe(200);
    const body = await jsonRpcAnswer(response);
    expect(body.result).toMatchObject({ ttlMs: 300_000, cacheScope: 'public' });
  });

  it('serves a v2 client pinned to 2026-07-28 with its own token on every request, without a session', async () => {
    const accessToken = await token('mcp:tools');
    const client = new Client({ name: 'modern-test', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN_PROTOCOL } } });
    const transport = new StreamableHTTPClientTransport(new URL(rs.mcpUrl), {
      requestInit: { headers: { Authorization: `Bearer ${accessToken}` } },
    });
    await client.connect(transport);
    try {
      const result = await client.callTool({ name: 'greet', arguments: { name: 'Ada' } });
      expect(JSON.stringify(result.content)).toContain('Hello, Ada!');
      expect(transport.sessionId).toBeUndefined();
    } finally {
      await client.close();
    }
  });
});
