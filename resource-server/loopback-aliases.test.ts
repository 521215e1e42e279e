import { decodeJwt } from 'jose';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig as loadAuthConfig } from '../auth-server/config.ts';
import { addUser, startAuthServer, type TestAuthServer } from '../auth-server/testing/harness.ts';
import { freePort } from '../common/free-port.ts';
import { connect, TestOAuthProvider } from '../e2e/mcp-client.ts';
import { signInAs } from './testing/oauth-client.ts';
import { startTestIssuer } from './testing/test-issuer.ts';
import { INITIALIZE, requestFrom, startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

/**
 * The default configuration says http://localhost:<port>/mcp; MCP Inspector (and many users)
 * call http://127.0.0.1:<port>/mcp. In development each loopback spelling is a resource of its
 * own, so RFC 9728 §3.3 clients accept the metadata for the URL they called.
 */
let auth: TestAuthServer;
let rs: RunningResourceServer;
let port: number;
const alice = { username: 'alice', password: 'correct horse battery staple' };
const REDIRECT_URI = 'http://127.0.0.1:8976/callback';

beforeAll(async () => {
  port = await freePort();
  const resource = `http://localhost:${port}/mcp`;
  auth = await startAuthServer({ RS_RESOURCE_URL: resource });
  await addUser(auth);
  // Listens on 127.0.0.1 (test-server's RS_HOST); the configured resource names localhost.
  rs = await startResourceServer({ RS_PORT: String(port), RS_RESOURCE_URL: resource, AUTH_ISSUER: auth.url, NODE_ENV: 'development' });
});
afterAll(async () => {
  await rs?.close();
  await auth?.close();
});

/** A GET with a chosen Host header (fetch cannot set Host). */
const getAs = (host: string, path: string, headers: Record<string, string> = {}) =>
  requestFrom('127.0.0.1', `http://127.0.0.1:${port}${path}`, { method: 'GET', headers: { host, ...headers } });

describe('loopback aliases of the resource URL (development)', () => {
  it('the real SDK client on http://127.0.0.1:<port>/mcp signs in and calls a tool, with a token for that URL', async () => {
    const provider = new TestOAuthProvider({ redirectUrl: REDIRECT_URI });
    const url = `http://127.0.0.1:${port}/mcp`;
    const { client } = await connect(url, provider, signInAs(alice, REDIRECT_URI));
    try {
      const result = (await client.callTool({ name: 'greet', arguments: { name: 'Inspector' } })) as CallToolResult;
      expect(result.content[0]).toMatchObject({ text: expect.stringMatching(/^Hello, Inspector!/) });
      expect(provider.authorizationUrls[0]!.searchParams.get('resource')).toBe(url);
      expect(decodeJwt(provider.storedTokens!.access_token).aud).toBe(url);
    } finally {
      await client.close();
    }
  });

  it('serves metadata per alias, chosen by Host: localhost, 127.0.0.1 and [::1], for /mcp and /sse', async () => {
    for (const host of ['localhost', '127.0.0.1', '[::1]']) {
      for (const kind of ['mcp', 'sse']) {
        const response = await getAs(`${host}:${port}`, `/.well-known/oauth-protected-resource/${kind}`);
        expect(response.status).toBe(200);
        expect(JSON.parse(response.body).resource, `${host} ${kind}`).toBe(`http://${host}:${port}/${kind}`);
      }
    }
  });

  it("names the alias's metadata in the 401 challenge", async () => {
    const response = await requestFrom('127.0.0.1', `http://127.0.0.1:${port}/mcp`, { body: INITIALIZE });
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toContain(
      `resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp"`,
    );
  });

  it('accepts a token for an alias only on requests to that alias (aud stays strict)', async () => {
    const issuer = await startTestIssuer();
    const own = await startResourceServer({
      AUTH_ISSUER: issuer.url,
      RS_RESOURCE_URL: `http://localhost:${await freePort()}/mcp`,
      NODE_ENV: 'development',
    });
    try {
      const ownPort = new URL(own.mcpUrl).port;
      const forAlias = `Bearer ${await issuer.mint({ claims: { aud: `http://127.0.0.1:${ownPort}/mcp` } })}`;
      const forCanonical = `Bearer ${await issuer.mint({ claims: { aud: `http://localhost:${ownPort}/mcp` } })}`;
      // own listens on a port of its own, not the resource URL's: aliases match the resource's port only.
      const to = (host: string, authorization: string) =>
        requestFrom('127.0.0.1', `${own.url}/mcp`, { headers: { host, authorization }, body: INITIALIZE });
      expect((await to(`127.0.0.1:${ownPort}`, forAlias)).status).toBe(200);
      expect((await to(`localhost:${ownPort}`, forCanonical)).status).toBe(200);
      expect((await to(`localhost:${ownPort}`, forAlias)).status).toBe(401);
      expect((await to(`127.0.0.1:${ownPort}`, forCanonical)).status).toBe(401);
      // Any other Host (a proxy's name, another port) is the configured resource.
      expect((await to('mcp.example', forCanonical)).status).toBe(200);
      expect((await to('mcp.example', forAlias)).status).toBe(401);
    } finally {
      await own.close();
      await issuer.close();
    }
  });

  it('the auth server accepts every alias as a resource in development, with the same scopes', () => {
    const urls = auth.config.resources.map((r) => r.url);
    for (const host of ['localhost', '127.0.0.1', '[::1]']) {
      expect(urls).toContain(`http://${host}:${port}/mcp`);
      expect(urls).toContain(`http://${host}:${port}/sse`);
    }
    expect(urls[0]).toBe(`http://localhost:${port}/mcp`);
    expect(new Set(auth.config.resources.map((r) => r.scopes.join(' ')))).toEqual(new Set(['mcp:tools mcp:admin']));
  });
});

describe('production keeps one canonical URL', () => {
  it('the resource server publishes only the configured URL and refuses a token for an alias', async () => {
    const issuer = await startTestIssuer();
    const prod = await startResourceServer({
      AUTH_ISSUER: issuer.url,
      RS_RESOURCE_URL: `http://localhost:${await freePort()}/mcp`,
      NODE_ENV: 'production',
    });
    try {
      const prodPort = new URL(prod.mcpUrl).port;
      const metadata = await requestFrom('127.0.0.1', `${prod.url}/.well-known/oauth-protected-resource/mcp`, {
        method: 'GET',
        headers: { host: `127.0.0.1:${prodPort}` },
      });
      expect(JSON.parse(metadata.body).resource).toBe(prod.mcpUrl);
      const forAlias = `Bearer ${await issuer.mint({ claims: { aud: `http://127.0.0.1:${prodPort}/mcp` } })}`;
      const refused = await requestFrom('127.0.0.1', `${prod.url}/mcp`, {
        headers: { host: `127.0.0.1:${prodPort}`, authorization: forAlias },
        body: INITIALIZE,
      });
      expect(refused.status).toBe(401);
    } finally {
      await prod.close();
      await issuer.close();
    }
  });

  it('the auth server lists no aliases in production', () => {
    const config = loadAuthConfig({
      NODE_ENV: 'production',
      AUTH_ISSUER: 'https://auth.example',
      RS_RESOURCE_URL: 'http://localhost:3001/mcp',
    });
    expect(config.resources.map((r) => r.url)).toEqual(['http://localhost:3001/mcp', 'http://localhost:3001/sse']);
  });
});
