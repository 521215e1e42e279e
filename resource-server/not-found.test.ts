import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIssuer, type TestIssuer } from './testing/test-issuer.ts';
import { MCP_POST_HEADERS, INITIALIZE, startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

let issuer: TestIssuer;
let rs: RunningResourceServer;

beforeAll(async () => {
  issuer = await startTestIssuer();
  rs = await startResourceServer({ AUTH_ISSUER: issuer.url }, { captureLogs: true });
});
afterAll(async () => {
  await rs.close();
  await issuer.close();
});

const post = (path: string) => fetch(`${rs.url}${path}`, { method: 'POST', headers: MCP_POST_HEADERS, body: JSON.stringify(INITIALIZE) });

describe('wrong URLs get an answer that names the MCP URL (not a bare "Not Found")', () => {
  it('POST to the server root: 404 JSON naming the MCP URL', async () => {
    const response = await post('/');
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await response.json()) as Record<string, string>;
    expect(body).toMatchObject({ error: 'not_found', mcp_url: rs.mcpUrl });
    expect(body.error_description).toContain(rs.mcpUrl);
  });

  it('…/mcp/ (trailing slash) and …/MCP: 404 telling the exact URL, never served as the endpoint', async () => {
    for (const path of ['/mcp/', '/MCP', '/mcp//']) {
      const response = await post(path);
      expect(response.status, path).toBe(404);
      const body = (await response.json()) as Record<string, string>;
      expect(body.mcp_url).toBe(rs.mcpUrl);
      expect(body.error_description).toBe(`${path} is not an endpoint of this server; use ${rs.mcpUrl} exactly (no trailing slash)`);
    }
  });

  it('…/sse/ is pointed at …/sse', async () => {
    const response = await fetch(`${rs.url}/sse/`, { headers: { accept: 'text/event-stream' } });
    expect(response.status).toBe(404);
    expect(((await response.json()) as Record<string, string>).mcp_url).toBe(`${rs.url}/sse`);
  });

  it('an unknown path: 404 JSON for clients, an HTML page with the link for browsers', async () => {
    const json = await fetch(`${rs.url}/api/v1/mcp`, { method: 'POST', headers: MCP_POST_HEADERS, body: '{}' });
    expect(json.status).toBe(404);
    expect((await json.json()) as Record<string, string>).toMatchObject({ error: 'not_found', mcp_url: rs.mcpUrl });

    const html = await fetch(`${rs.url}/nothing-here?<b>`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(html.status).toBe(404);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await html.text();
    expect(page).toContain(`<a href="${rs.mcpUrl}">${rs.mcpUrl}</a>`);
  });

  it('escapes the requested path in the HTML page', async () => {
    // Raw, so the path reaches the server unencoded (fetch would percent-encode it).
    const page = await new Promise<string>((resolve, reject) => {
      const { hostname, port } = new URL(rs.url);
      request({ hostname, port, path: '/<img/src=x/onerror=alert(1)>', headers: { accept: 'text/html' } }, (res) => {
        let text = '';
        res
          .setEncoding('utf8')
          .on('data', (d: string) => (text += d))
          .on('end', () => resolve(text));
      })
        .on('error', reject)
        .end();
    });
    expect(page).toContain('&#60;img/src=x/onerror=alert(1)&#62;');
    expect(page).not.toContain('<img');
  });

  it('logs each one at info, with the method and path (never the query)', async () => {
    await fetch(`${rs.url}/wrong/path?code=secret-code`, { method: 'POST', headers: MCP_POST_HEADERS, body: '{}' });
    const line = rs.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.path === '/wrong/path');
    expect(line).toMatchObject({ level: 30, msg: 'request for an unknown path', method: 'POST', mcp_url: rs.mcpUrl });
    expect(rs.logs.join('\n')).not.toContain('secret-code');
  });

  it('still serves the real endpoints and the documentation page', async () => {
    expect((await post('/mcp')).status).toBe(401);
    expect((await fetch(`${rs.url}/`)).status).toBe(200);
  });
});
