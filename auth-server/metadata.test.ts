import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../common/config-error.ts';
import { loadConfig } from './config.ts';
import { addUser, freePort, loginAndGetTokens, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

describe('authorization server metadata (RFC 8414)', () => {
  let server: TestAuthServer;
  beforeAll(async () => {
    server = await startAuthServer();
  });
  afterAll(() => server?.close());

  it('publishes what MCP clients need at both well-known URLs', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      const metadata = (await response.json()) as Record<string, unknown>;
      expect(metadata).toMatchObject({
        issuer: server.url,
        authorization_endpoint: `${server.url}/auth`,
        token_endpoint: `${server.url}/token`,
        registration_endpoint: `${server.url}/reg`,
        jwks_uri: `${server.url}/jwks`,
        revocation_endpoint: `${server.url}/token/revocation`,
        introspection_endpoint: `${server.url}/token/introspection`,
        device_authorization_endpoint: `${server.url}/device/auth`,
        code_challenge_methods_supported: ['S256'],
        authorization_response_iss_parameter_supported: true,
        client_id_metadata_document_supported: true,
        response_types_supported: expect.arrayContaining(['code']),
      });
      expect(metadata.grant_types_supported).toEqual(
        expect.arrayContaining([
          'authorization_code',
          'refresh_token',
          'client_credentials',
          'urn:ietf:params:oauth:grant-type:device_code',
        ]),
      );
      expect(metadata.token_endpoint_auth_methods_supported).toContain('none');
      expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['mcp:tools', 'mcp:admin', 'openid']));
      expect(metadata.dpop_signing_alg_values_supported).toContain('ES256');
    }
  });

  it('names as issuer exactly the identifier each well-known URL was built from (RFC 8414 §3.3, OIDC Discovery §4.3)', async () => {
    // The URLs the MCP spec has clients try for an issuer without a path, in its order.
    for (const url of [`${server.url}/.well-known/oauth-authorization-server`, `${server.url}/.well-known/openid-configuration`]) {
      const response = await fetch(url);
      expect(response.status, url).toBe(200);
      expect(((await response.json()) as { issuer: string }).issuer, url).toBe(server.url);
    }
  });

  it('publishes the ES256 and RS256 public keys (the active and the next one of each) and no private parts', async () => {
    const { keys } = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: Record<string, unknown>[] };
    expect(keys.map((k) => k.alg).sort()).toEqual(['ES256', 'ES256', 'RS256', 'RS256']);
    for (const key of keys) {
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key[secret]).toBeUndefined();
    }
  });

  it('answers /healthz', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok' });
  });
});

describe('an issuer with a path', () => {
  let server: TestAuthServer;
  let issuer: string;
  beforeAll(async () => {
    // The issuer names the port, so take a free one first.
    const port = await freePort();
    issuer = `http://localhost:${port}/tenant-a`;
    server = await startAuthServer({ AUTH_PORT: String(port), AUTH_ISSUER: issuer });
    await addUser(server);
  });
  afterAll(() => server?.close());

  it('serves the RFC 8414 path-inserted metadata URL and the one under the issuer', async () => {
    const origin = new URL(issuer).origin;
    for (const url of [
      `${origin}/.well-known/oauth-authorization-server/tenant-a`,
      `${issuer}/.well-known/oauth-authorization-server`,
      `${issuer}/.well-known/openid-configuration`,
    ]) {
      const response = await fetch(url);
      expect(response.status, url).toBe(200);
      expect(await response.json()).toMatchObject({ issuer, token_endpoint: `${issuer}/token` });
    }
  });

  it('names the issuer with its path at every URL the MCP spec has clients try, and serves none that would name another issuer', async () => {
    const origin = new URL(issuer).origin;
    // MCP 2026-07-28 authorization server discovery, issuer with a path, in its priority order.
    for (const url of [
      `${origin}/.well-known/oauth-authorization-server/tenant-a`,
      `${origin}/.well-known/openid-configuration/tenant-a`,
      `${issuer}/.well-known/openid-configuration`,
    ]) {
      const response = await fetch(url);
      expect(response.status, url).toBe(200);
      expect(((await response.json()) as { issuer: string }).issuer, url).toBe(issuer);
    }
    // Built from the identifier `origin` (or another tenant), so a document there would have to name that issuer: none is served.
    for (const url of [
      `${origin}/.well-known/oauth-authorization-server`,
      `${origin}/.well-known/openid-configuration`,
      `${origin}/.well-known/oauth-authorization-server/tenant-b`,
    ]) {
      expect((await fetch(url)).status, url).toBe(404);
    }
  });

  it('runs the whole login flow under the path', async () => {
    const client = await registerPublicClient({ url: issuer });
    const { tokens } = await loginAndGetTokens({ url: issuer }, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
    expect(JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()).iss).toBe(issuer);
  });
});

describe('configuration', () => {
  it('names every bad variable in one error', () => {
    try {
      loadConfig({ AUTH_PORT: 'abc', AUTH_ISSUER: 'not a url', RS_RESOURCE_URL: 'ftp://x/mcp', LOG_LEVEL: 'loud' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      for (const name of ['AUTH_PORT', 'AUTH_ISSUER', 'RS_RESOURCE_URL', 'LOG_LEVEL']) expect(message).toContain(name);
    }
  });

  it('requires an https issuer in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_ISSUER: 'http://auth.example' })).toThrow(/AUTH_ISSUER: must be an https URL/);
  });

  it('has working defaults', () => {
    const config = loadConfig({});
    expect(config.issuer).toBe('http://localhost:3000');
    expect(config.resources[0]).toMatchObject({
      url: 'http://localhost:3001/mcp',
      scopes: ['mcp:tools', 'mcp:admin'],
      accessTokenTtl: 600,
    });
    // The legacy HTTP+SSE endpoint beside it is a resource of its own, with the same scopes.
    expect(config.resources.find((r) => r.url === 'http://localhost:3001/sse')).toMatchObject({
      scopes: ['mcp:tools', 'mcp:admin'],
      defaultScopes: ['mcp:tools'],
    });
    expect(config.ttl.grant).toBe(30 * 24 * 60 * 60);
  });
});
