import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MCP_POST_HEADERS, startResourceServer, type RunningResourceServer } from '../resource-server/testing/test-server.ts';
import { addUser, freePort, loginAndGetTokens, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

/**
 * The resource server publishes the scopes its tools require (PRM scopes_supported); the auth
 * server grants the scopes configured for that resource (AUTH_RESOURCE_SCOPES). The two are
 * separate sources on purpose (the servers share no code), so this checks that with the default
 * configuration every published scope can really be granted: a tool whose scope is advertised but
 * never granted could never be called.
 */
let resourceUrl: string;
let auth: TestAuthServer;
let rs: RunningResourceServer;

beforeAll(async () => {
  resourceUrl = `http://127.0.0.1:${await freePort()}/mcp`;
  auth = await startAuthServer({ RS_RESOURCE_URL: resourceUrl });
  await addUser(auth, 'alice', ['admin']);
  // Stateless: one tools/call needs no session.
  rs = await startResourceServer({ RS_RESOURCE_URL: resourceUrl, AUTH_ISSUER: auth.url, MCP_STATELESS: '1' });
});
afterAll(async () => {
  await rs?.close();
  await auth?.close();
});

async function publishedScopes(): Promise<string[]> {
  const response = await fetch(`${rs.url}/.well-known/oauth-protected-resource/mcp`);
  expect(response.status).toBe(200);
  const metadata = (await response.json()) as { resource: string; scopes_supported: string[] };
  expect(metadata.resource).toBe(resourceUrl);
  return metadata.scopes_supported;
}

const sorted = (scope: string) => scope.split(' ').sort();

describe('scopes the resource server publishes and the auth server grants', () => {
  it('every scope in the PRM scopes_supported is granted, with the default configuration, to a user with the admin role', async () => {
    const scopes = await publishedScopes();
    // The demo tools need both; an empty list would make this test prove nothing.
    expect(scopes).toEqual(expect.arrayContaining(['mcp:tools', 'mcp:admin']));
    const client = await registerPublicClient(auth);
    const { tokens } = await loginAndGetTokens(auth, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      scope: scopes.join(' '),
      resource: resourceUrl,
    });
    expect(sorted(tokens.scope)).toEqual([...scopes].sort());
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${auth.url}/jwks`)), {
      issuer: auth.url,
      audience: resourceUrl,
    });
    expect(sorted(String(payload.scope))).toEqual([...scopes].sort());

    // And the resource server takes it: the admin tool runs (its scope and the user's role are both there).
    const response = await fetch(`${rs.url}/mcp`, {
      method: 'POST',
      headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${tokens.access_token}`, 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'admin_report', arguments: {} } }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    const result = JSON.parse(text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? '{}')) as {
      result?: { isError?: boolean; structuredContent?: unknown };
    };
    expect(result.result?.isError).toBeFalsy();
    expect(result.result?.structuredContent).toMatchObject({ generatedFor: expect.any(String) });
  });

  it('the scope a 401 challenges for is among them', async () => {
    const response = await fetch(`${rs.url}/mcp`, { method: 'POST', headers: MCP_POST_HEADERS, body: '{}' });
    expect(response.status).toBe(401);
    const challenged = /scope="([^"]+)"/.exec(response.headers.get('www-authenticate') ?? '')?.[1];
    expect(challenged).toBe('mcp:tools');
    expect(await publishedScopes()).toEqual(expect.arrayContaining(challenged!.split(' ')));
  });

  it('a published scope left out of AUTH_RESOURCE_SCOPES is not granted (what the check above guards against)', async () => {
    const narrow = await startAuthServer({ RS_RESOURCE_URL: resourceUrl, AUTH_RESOURCE_SCOPES: 'mcp:tools' });
    try {
      await addUser(narrow, 'alice', ['admin']);
      const client = await registerPublicClient(narrow);
      // oidc-provider drops a resource scope it was not configured for: the token silently lacks it.
      const { tokens } = await loginAndGetTokens(narrow, {
        clientId: client.client_id,
        redirectUri: client.redirect_uris[0]!,
        scope: (await publishedScopes()).join(' '),
        resource: resourceUrl,
      });
      expect(tokens.scope).toBe('mcp:tools');
    } finally {
      await narrow.close();
    }
  });
});
