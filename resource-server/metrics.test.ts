import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIssuer, type TestIssuer } from './testing/test-issuer.ts';
import { INITIALIZE, MCP_POST_HEADERS, startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

let issuer: TestIssuer;
let server: RunningResourceServer;
let closed: RunningResourceServer;

beforeAll(async () => {
  issuer = await startTestIssuer();
  [server, closed] = await Promise.all([
    startResourceServer({ AUTH_ISSUER: issuer.url, METRICS_ALLOW: '127.0.0.1' }),
    startResourceServer({ AUTH_ISSUER: issuer.url }),
  ]);
});
afterAll(async () => {
  await Promise.all([server?.close(), closed?.close()]);
  await issuer?.close();
});

describe('GET /metrics on the resource server', () => {
  it('is not served unless configured', async () => {
    expect((await fetch(`${closed.url}/metrics`)).status).toBe(404);
  });

  it('behind a trusted proxy, is not served to a client that puts an allowed ip in X-Forwarded-For', async () => {
    const proxied = await startResourceServer({ AUTH_ISSUER: issuer.url, METRICS_ALLOW: '127.0.0.1', RS_TRUST_PROXY: '1' });
    try {
      expect((await fetch(`${proxied.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(404);
      // The client claims to be 127.0.0.1; the proxy appended its real address.
      expect((await fetch(`${proxied.url}/metrics`, { headers: { 'x-forwarded-for': '127.0.0.1, 203.0.113.9' } })).status).toBe(404);
      expect((await fetch(`${proxied.url}/metrics`)).status).toBe(200);
    } finally {
      await proxied.close();
    }
  });

  it('counts requests by route, refusals by reason, JWKS fetches and open sessions', async () => {
    const token = await issuer.mint({ claims: { aud: server.mcpUrl, scope: 'mcp:tools' } });
    const post = (headers: Record<string, string>) =>
      fetch(server.mcpUrl, { method: 'POST', headers: { ...MCP_POST_HEADERS, ...headers }, body: JSON.stringify(INITIALIZE) });
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: 'Bearer garbage' })).status).toBe(401);
    const ok = await post({ authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    await ok.body?.cancel();

    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain('resource_server_token_refusals_total{status="401",error="missing_token",reason="no token"} 1');
    expect(text).toMatch(/resource_server_token_refusals_total\{status="401",error="invalid_token",reason="[^"]+"\} 1/);
    expect(text).toContain('resource_server_jwks_fetches_total 1');
    expect(text).toContain('resource_server_mcp_sessions 1');
    expect(text).toContain('resource_server_http_requests_total{route="mcp",method="POST",status="401"} 2');
  });
});
