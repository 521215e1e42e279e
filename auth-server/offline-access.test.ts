import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, loginAndGetTokens, postForm, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

let server: TestAuthServer;

beforeAll(async () => {
  server = await startAuthServer();
  await addUser(server);
});
afterAll(() => server?.close());

// MCP 2026-07-28 "Refresh Tokens" (SEP-2207): the refresh_token grant in the client's metadata is
// what asks for refresh tokens; offline_access is optional for clients and never a resource scope.
describe('refresh tokens and offline_access', () => {
  it('lists offline_access in the AS metadata scopes_supported, so clients may ask for it', async () => {
    const metadata = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as { scopes_supported: string[] };
    expect(metadata.scopes_supported).toContain('offline_access');
  });

  it('gives a client that asks for offline_access anyway (without prompt=consent) its tokens and a refresh token', async () => {
    const client = await registerPublicClient(server);
    const { tokens } = await loginAndGetTokens(server, {
      clientId: client.client_id,
      redirectUri: client.redirect_uris[0]!,
      scope: 'mcp:tools offline_access',
    });
    expect(tokens.refresh_token).toBeTypeOf('string');
    const payload = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString());
    expect(payload.scope).toBe('mcp:tools');
    const refreshed = await postForm(`${server.url}/token`, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: client.client_id,
    });
    expect(refreshed.status).toBe(200);
  });

  it('gives no refresh token to a client that did not list the refresh_token grant', async () => {
    const client = await registerPublicClient(server, { grant_types: ['authorization_code'] });
    expect(client.grant_types).toEqual(['authorization_code']);
    const { tokens } = await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
    expect(tokens.access_token).toBeTypeOf('string');
    expect(tokens.refresh_token).toBeUndefined();
  });
});
