import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../common/free-port.ts';
import { RESOURCE, startAuthServer, type TestAuthServer } from './testing/harness.ts';

let server: TestAuthServer;
let withPath: TestAuthServer;
beforeAll(async () => {
  server = await startAuthServer();
  const port = await freePort();
  withPath = await startAuthServer({ AUTH_PORT: String(port), AUTH_ISSUER: `http://localhost:${port}/tenant` });
});
afterAll(async () => {
  await server?.close();
  await withPath?.close();
});

describe('the issuer URL answers with a landing page', () => {
  it('a browser gets an HTML page naming the MCP server, the metadata and where to go, with the page security headers', async () => {
    const response = await fetch(`${server.url}/`, { headers: { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await response.text();
    expect(html).toContain(RESOURCE);
    expect(html).toContain(`${server.url}/.well-known/oauth-authorization-server`);
    expect(html).toContain(`${server.url}/device`);
    expect(html).toContain('Point your MCP client at the MCP server URL');
  });

  it('curl gets plain text, a client asking for JSON gets JSON; every metadata URL it lists answers', async () => {
    const text = await fetch(server.url, { headers: { Accept: '*/*' } });
    expect(text.status).toBe(200);
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await text.text()).toMatch(new RegExp(`MCP server\\(s\\): +${RESOURCE.replaceAll('.', '\\.')}`));

    const json = await fetch(server.url, { headers: { Accept: 'application/json' } });
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await json.json()) as { issuer: string; metadata: string[]; resources: string[]; jwks: string };
    // Every resource it issues tokens for: the MCP URL first, then its /sse sibling and (in development) loopback aliases.
    expect(body).toMatchObject({ issuer: server.url, jwks: `${server.url}/jwks` });
    expect(body.resources[0]).toBe(RESOURCE);
    for (const url of [...body.metadata, body.jwks]) expect((await fetch(url)).status, url).toBe(200);
  });

  it('an issuer with a path serves the page at its path and lists the RFC 8414 path-inserted metadata URL', async () => {
    const origin = new URL(withPath.url).origin;
    for (const path of ['/tenant', '/tenant/']) {
      const response = await fetch(`${origin}${path}`, { headers: { Accept: 'application/json' } });
      expect(response.status, path).toBe(200);
      const body = (await response.json()) as { metadata: string[] };
      expect(body.metadata[0]).toBe(`${origin}/.well-known/oauth-authorization-server/tenant`);
      for (const url of body.metadata) expect((await fetch(url)).status, url).toBe(200);
    }
    expect((await fetch(`${origin}/`)).status, 'nothing outside the issuer path').toBe(404);
  });
});
