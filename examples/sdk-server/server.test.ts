import type { Server } from 'node:http';
import { decodeJwt } from 'jose';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addUser,
  loginAndGetTokens,
  registerPublicClient,
  RESOURCE,
  startAuthServer,
  type TestAuthServer,
} from '../../auth-server/testing/harness.ts';
import { freePort } from '../../common/free-port.ts';
import { connect, TestOAuthProvider } from '../../e2e/mcp-client.ts';
import { signInAs } from '../../resource-server/testing/oauth-client.ts';
import { createExampleServer } from './server.ts';

/**
 * The README recipe "Use the auth server with your own MCP server", run: a server written with
 * the MCP SDK alone (requireBearerAuth + a jose verifier + mcpAuthMetadataRouter), its URL added
 * to the auth server with AUTH_EXTRA_RESOURCES, and the real SDK client through the whole flow.
 */
let auth: TestAuthServer;
let http: Server;
let url: string;
const alice = { username: 'alice', password: 'correct horse battery staple' };
const REDIRECT_URI = 'http://127.0.0.1:8976/callback';

beforeAll(async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}/mcp`;
  auth = await startAuthServer({ AUTH_EXTRA_RESOURCES: url });
  await addUser(auth);
  const app = await createExampleServer({ issuer: auth.url, url });
  http = await new Promise<Server>((resolve) => {
    const server = app.listen(port, '127.0.0.1', () => resolve(server));
  });
});
afterAll(async () => {
  http?.closeAllConnections();
  await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)));
  await auth?.close();
});

const post = (token?: string) =>
  fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });

describe('an MCP SDK server protected by this auth server (examples/sdk-server)', () => {
  it('the real SDK client discovers, signs in and calls a tool with a token whose aud is the example URL', async () => {
    const provider = new TestOAuthProvider({ redirectUrl: REDIRECT_URI });
    // The example is a v1-SDK server (2025-era protocol): the v1 client, as its users would have.
    const { client } = await connect(url, provider, signInAs(alice, REDIRECT_URI), 'v1');
    try {
      const result = (await client.callTool({ name: 'whoami', arguments: { greeting: 'Hi' } })) as CallToolResult;
      expect(result.content[0]).toMatchObject({ text: expect.stringMatching(/^Hi, .+ \(scopes: .*mcp:tools/) });
      expect(provider.authorizationUrls[0]!.searchParams.get('resource')).toBe(url);
      const claims = decodeJwt(provider.storedTokens!.access_token);
      expect(claims.aud).toBe(url);
      expect(claims.iss).toBe(auth.url);
    } finally {
      await client.close();
    }
  });

  it('publishes Protected Resource Metadata naming the auth server, and names it in the 401', async () => {
    const metadata = (await (await fetch(new URL('/.well-known/oauth-protected-resource/mcp', url))).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({ resource: url, authorization_servers: [auth.url], scopes_supported: ['mcp:tools'] });
    const response = await post();
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain(
      `resource_metadata="${new URL('/.well-known/oauth-protected-resource/mcp', url).href}"`,
    );
  });

  it('refuses a valid token of the same auth server issued for another resource (aud)', async () => {
    const client = await registerPublicClient(auth);
    const { tokens } = await loginAndGetTokens(auth, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      resource: RESOURCE,
    });
    expect(decodeJwt(tokens.access_token).aud).toBe(RESOURCE);
    const response = await post(tokens.access_token);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('refuses an ID token (typ is not at+jwt) and a token with a broken signature', async () => {
    const client = await registerPublicClient(auth);
    const { tokens } = await loginAndGetTokens(auth, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      resource: url,
      scope: 'openid mcp:tools',
    });
    expect(tokens.id_token).toBeDefined();
    expect((await post(tokens.id_token)).status).toBe(401);
    const [header, payload, signature] = tokens.access_token.split('.');
    expect((await post(`${header}.${payload}.${signature!.startsWith('A') ? 'B' : 'A'}${signature!.slice(1)}`)).status).toBe(401);
    // The unspoilt token works, so the refusals above are about what was changed.
    expect((await post(tokens.access_token)).status).toBe(200);
  });
});
