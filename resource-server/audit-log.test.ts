import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIssuer, type TestIssuer } from './testing/test-issuer.ts';
import { INITIALIZE, MCP_POST_HEADERS, startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

let issuer: TestIssuer;
let server: RunningResourceServer;
beforeAll(async () => {
  issuer = await startTestIssuer();
  server = await startResourceServer({ AUTH_ISSUER: issuer.url, MCP_STATELESS: '1' }, { captureLogs: true });
});
afterAll(async () => {
  await server?.close();
  await issuer?.close();
});

const post = (body: unknown, authorization?: string) =>
  fetch(server.mcpUrl, {
    method: 'POST',
    headers: { ...MCP_POST_HEADERS, ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(body),
  });

describe('resource server audit log', () => {
  it('writes one line per refusal (missing token, rejected token with its reason, step-up) and the caller of every MCP request, never a token', async () => {
    const good = await issuer.mint({ claims: { aud: server.mcpUrl, scope: 'mcp:tools', sub: 'user-42', client_id: 'client-7' } });
    const expired = await issuer.mint({ claims: { aud: server.mcpUrl, scope: 'mcp:tools', exp: Math.floor(Date.now() / 1000) - 3600 } });
    await post(INITIALIZE);
    await post(INITIALIZE, `Bearer ${expired}`);
    const ok = await post(INITIALIZE, `Bearer ${good}`);
    await ok.text();
    await post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'admin_report', arguments: {} } }, `Bearer ${good}`);

    const lines = server.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    // pino levels: 30 info, 40 warn. A missing token is every client's expected first request.
    expect(lines.find((l) => l.event === 'token.missing')).toMatchObject({ level: 30, status: 401, ip: '127.0.0.1' });
    expect(lines.find((l) => l.event === 'token.rejected')).toMatchObject({
      level: 40,
      status: 401,
      error: 'invalid_token',
      reason: 'token expired',
    });
    expect(lines.find((l) => l.event === 'step_up.required')).toMatchObject({
      level: 40,
      status: 403,
      scope: 'mcp:tools mcp:admin',
      sub: 'user-42',
      client_id: 'client-7',
    });
    expect(lines.find((l) => l.msg === 'mcp request')).toMatchObject({ sub: 'user-42', client_id: 'client-7' });
    const everything = server.logs.join('\n');
    for (const token of [good, expired]) expect(everything).not.toContain(token);
  });
});
