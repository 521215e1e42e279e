import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoTools } from './tools/index.ts';
import type { ToolRegistry } from './tools/registry.ts';
import { startTestIssuer, type TestIssuer } from './testing/test-issuer.ts';
import { MCP_POST_HEADERS, startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

let issuer: TestIssuer;
let rs: RunningResourceServer;

/** The demo tools, except that looking up a tool's scopes is broken: our bug inside a request. */
const broken: ToolRegistry = {
  ...demoTools,
  scopesFor(name) {
    if (name === 'explode') throw new Error('registry lookup failed');
    return demoTools.scopesFor(name);
  },
};

beforeAll(async () => {
  issuer = await startTestIssuer();
  rs = await startResourceServer({ AUTH_ISSUER: issuer.url }, { captureLogs: true, tools: broken });
});
afterAll(async () => {
  await rs.close();
  await issuer.close();
});

const logLines = () => rs.logs.map((l) => JSON.parse(l) as Record<string, unknown>);

describe("the resource server's error boundary (common/request-log.ts)", () => {
  it('answers our own bug with 500 {"error":"server_error"} and no details, and logs it', async () => {
    const response = await fetch(rs.mcpUrl, {
      method: 'POST',
      headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${await issuer.mint({ claims: { aud: rs.mcpUrl } })}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'explode', arguments: {} } }),
    });
    expect(response.status).toBe(500);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.error).toBe('server_error');
    expect(JSON.stringify(body)).not.toContain('registry lookup failed');
    expect(logLines().find((l) => l.msg === 'unhandled error')).toMatchObject({
      level: 50,
      path: '/mcp',
      err: { message: 'registry lookup failed' },
    });
  });

  it("logs an SSE client that drops its connection at debug through our logger (not Koa's stderr print)", async () => {
    const token = await issuer.mint({ claims: { aud: [rs.mcpUrl, `${rs.url}/sse`] } });
    await new Promise<void>((resolve, reject) => {
      const req = request(`${rs.url}/sse`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
        expect(res.statusCode).toBe(200);
        // The first event is out: now drop the connection the rude way (a TCP reset).
        res.once('data', () => {
          req.socket?.resetAndDestroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.end();
      setTimeout(() => reject(new Error('no SSE event')), 2000);
    });
    await expect
      .poll(() => logLines().find((l) => l.msg === 'client connection closed early'), { timeout: 2000 })
      .toMatchObject({ level: 20, path: '/sse', code: 'ECONNRESET' });
    expect(logLines().filter((l) => (l.level as number) >= 50 && l.msg !== 'unhandled error')).toEqual([]);
  });
});
