import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../common/config-error.ts';
import { LOOPBACK } from '../common/http-server.ts';
import { loadConfig } from './config.ts';
import { startTestIssuer } from './testing/test-issuer.ts';
import { INITIALIZE, MCP_POST_HEADERS, startResourceServer } from './testing/test-server.ts';

describe('resource server configuration', () => {
  it('has working defaults for a laptop', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3001,
      resourceUrl: 'http://localhost:3001/mcp',
      issuer: 'http://localhost:3000',
      jwksUrl: undefined,
      stateless: false,
      authDisabled: false,
      allowedOrigins: [],
      clockToleranceSec: 30,
      maxSessions: 1000,
      maxSessionsPerUser: 50,
      maxSessionsPerClient: 250,
      maxSessionsPerIp: 100,
    });
  });

  it('reads the per-client and per-address session caps, and refuses ones that are not positive integers', () => {
    expect(loadConfig({ MCP_MAX_SESSIONS_PER_CLIENT: '7', MCP_MAX_SESSIONS_PER_IP: '3' })).toMatchObject({
      maxSessionsPerClient: 7,
      maxSessionsPerIp: 3,
    });
    expect(() => loadConfig({ MCP_MAX_SESSIONS_PER_CLIENT: '0' })).toThrow(/MCP_MAX_SESSIONS_PER_CLIENT/);
    expect(() => loadConfig({ MCP_MAX_SESSIONS_PER_IP: 'many' })).toThrow(/MCP_MAX_SESSIONS_PER_IP/);
  });

  it('derives the resource URL from RS_PORT and the issuer from AUTH_PORT', () => {
    const config = loadConfig({ RS_PORT: '4001', AUTH_PORT: '4000' });
    expect(config.resourceUrl).toBe('http://localhost:4001/mcp');
    expect(config.issuer).toBe('http://localhost:4000');
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({ RS_PORT: 'abc', AUTH_ISSUER: 'not a url', MCP_STATELESS: 'maybe', MCP_AUTH_DISABLED: '1', NODE_ENV: 'production' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['RS_PORT', 'AUTH_ISSUER', 'MCP_STATELESS', 'MCP_AUTH_DISABLED']) expect(problems).toContain(name);
  });

  it('reads LOG_FORMAT (json or pretty) and refuses any other value instead of ignoring it', () => {
    expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(loadConfig({}).logFormat).toBeUndefined();
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT: must be json or pretty/);
  });

  it('refuses MCP_AUTH_DISABLED with NODE_ENV=production', () => {
    expect(() => loadConfig({ MCP_AUTH_DISABLED: 'true', NODE_ENV: 'production' })).toThrow(/MCP_AUTH_DISABLED/);
  });

  it('refuses a resource URL without a path or not in normal form (it must equal the token aud exactly)', () => {
    expect(() => loadConfig({ RS_RESOURCE_URL: 'http://localhost:3001' })).toThrow(/RS_RESOURCE_URL/);
    expect(() => loadConfig({ RS_RESOURCE_URL: 'http://LOCALHOST:3001/mcp' })).toThrow(/normal form/);
  });

  it('reads the revocation feed settings: a 10 s poll, no max staleness, the issuer as the internal URL by default', () => {
    const client = { RS_CLIENT_ID: 'rs', RS_CLIENT_SECRET: 'secret' };
    const defaults = loadConfig({ AUTH_ISSUER: 'https://auth.example.com' });
    expect(defaults).toMatchObject({
      revocationPollSeconds: 10,
      revocationMaxStalenessSeconds: undefined,
      authInternalUrl: 'https://auth.example.com',
    });
    expect(
      loadConfig({
        ...client,
        RS_REVOCATION_POLL_SECONDS: '2',
        RS_REVOCATION_MAX_STALENESS: '60',
        AUTH_INTERNAL_URL: 'http://auth-server:3000/',
      }),
    ).toMatchObject({
      revocationPollSeconds: 2,
      revocationMaxStalenessSeconds: 60,
      authInternalUrl: 'http://auth-server:3000',
    });
  });

  it('refuses a poll that is not positive, a max staleness not longer than the poll, and a max staleness without the RS client', () => {
    const client = { RS_CLIENT_ID: 'rs', RS_CLIENT_SECRET: 'secret' };
    expect(() => loadConfig({ ...client, RS_REVOCATION_POLL_SECONDS: '0' })).toThrow(/RS_REVOCATION_POLL_SECONDS/);
    expect(() => loadConfig({ ...client, RS_REVOCATION_POLL_SECONDS: 'often' })).toThrow(/RS_REVOCATION_POLL_SECONDS/);
    expect(() => loadConfig({ ...client, RS_REVOCATION_MAX_STALENESS: '10' })).toThrow(/RS_REVOCATION_MAX_STALENESS: must be longer/);
    expect(() => loadConfig({ RS_REVOCATION_MAX_STALENESS: '60' })).toThrow(/RS_REVOCATION_MAX_STALENESS: needs RS_CLIENT_ID/);
    expect(() => loadConfig({ AUTH_INTERNAL_URL: 'not a url' })).toThrow(/AUTH_INTERNAL_URL/);
  });

  it('refuses allowed origins that are not origins, and a clock tolerance above 30 s', () => {
    expect(() => loadConfig({ MCP_ALLOWED_ORIGINS: 'https://app.example.com/path' })).toThrow(/MCP_ALLOWED_ORIGINS/);
    expect(() => loadConfig({ RS_CLOCK_TOLERANCE_S: '300' })).toThrow(/RS_CLOCK_TOLERANCE_S/);
  });
});

describe('MCP_AUTH_DISABLED', () => {
  it('serves MCP without a token, as anonymous, when explicitly asked (development only)', async () => {
    const open = await startResourceServer({ MCP_AUTH_DISABLED: '1', AUTH_ISSUER: 'http://127.0.0.1:1' });
    try {
      const response = await fetch(open.mcpUrl, { method: 'POST', headers: MCP_POST_HEADERS, body: JSON.stringify(INITIALIZE) });
      expect(response.status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe('issuer spelling', () => {
  it('reads AUTH_ISSUER with a trailing slash as the same issuer the auth server publishes', async () => {
    const { loadConfig: loadAuthConfig } = await import('../auth-server/config.ts');
    const env = { AUTH_ISSUER: 'http://localhost:4140/' };
    expect(loadConfig(env).issuer).toBe('http://localhost:4140');
    expect(loadConfig(env).issuer).toBe(loadAuthConfig(env).issuer);
  });

  it('binds loopback only outside production, every interface in production, and RS_HOST/AUTH_HOST when set (both servers)', async () => {
    const { loadConfig: loadAuthConfig } = await import('../auth-server/config.ts');
    for (const NODE_ENV of [undefined, 'development', 'test'] as const) {
      const env = NODE_ENV ? { NODE_ENV } : {};
      expect(loadConfig(env).host, NODE_ENV).toBe(LOOPBACK);
      expect(loadAuthConfig(env).host, NODE_ENV).toBe(LOOPBACK);
    }
    const production = { NODE_ENV: 'production', AUTH_ISSUER: 'https://auth.example', RS_RESOURCE_URL: 'https://mcp.example/mcp' };
    expect(loadConfig(production).host).toBeUndefined();
    expect(loadAuthConfig(production).host).toBeUndefined();
    expect(loadConfig({ RS_HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadAuthConfig({ AUTH_HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig({ ...production, RS_HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
  });
});

describe("the resource server's own client (RS_CLIENT_ID, RS_CLIENT_SECRET)", () => {
  const SECRET = 'rs-secret-5f1c9e0b7a2d4c68';

  it('reads both together; the secret is revealed only on request, never in JSON or inspect output', () => {
    const config = loadConfig({ RS_CLIENT_ID: 'mcp-resource-server', RS_CLIENT_SECRET: SECRET });
    expect(config.client?.id).toBe('mcp-resource-server');
    expect(config.client?.secret.reveal()).toBe(SECRET);
    expect(JSON.stringify(config)).not.toContain(SECRET);
    expect(inspect(config, { depth: 10 })).not.toContain(SECRET);
    expect(`${config.client?.secret}`).toBe('[redacted]');
  });

  it('is optional: neither set means no client', () => {
    expect(loadConfig({}).client).toBeUndefined();
  });

  it('refuses one without the other, naming the missing variable and never the secret', () => {
    expect(() => loadConfig({ RS_CLIENT_ID: 'mcp-resource-server' })).toThrow(/RS_CLIENT_ID: set RS_CLIENT_SECRET too/);
    let error: unknown;
    try {
      loadConfig({ RS_CLIENT_SECRET: SECRET });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/RS_CLIENT_SECRET: set RS_CLIENT_ID too/);
    expect((error as ConfigError).message).not.toContain(SECRET);
  });

  it('without them, logs exactly one warning at start naming the features that are off', async () => {
    const server = await startResourceServer({ AUTH_ISSUER: 'http://127.0.0.1:1' }, { captureLogs: true });
    try {
      await fetch(server.mcpUrl, { method: 'POST', headers: MCP_POST_HEADERS, body: JSON.stringify(INITIALIZE) });
      const warnings = server.logs
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .filter((l) => l.msg.includes('RS_CLIENT_ID'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ level: 40, features_off: ['personal access tokens', 'token exchange', 'revocation feed'] });
    } finally {
      await server.close();
    }
  });

  it('with them, logs no such warning and never the secret, at debug level, whatever the requests', async () => {
    const issuer = await startTestIssuer();
    const server = await startResourceServer(
      { AUTH_ISSUER: issuer.url, RS_CLIENT_ID: 'mcp-resource-server', RS_CLIENT_SECRET: SECRET },
      { captureLogs: true },
    );
    try {
      const token = await issuer.mint({ claims: { aud: server.mcpUrl } });
      for (const authorization of [
        undefined,
        'Bearer nope',
        `Bearer ${token}`,
        `Basic ${Buffer.from(`mcp-resource-server:${SECRET}`).toString('base64')}`,
      ]) {
        await fetch(server.mcpUrl, {
          method: 'POST',
          headers: { ...MCP_POST_HEADERS, ...(authorization ? { authorization } : {}) },
          body: JSON.stringify(INITIALIZE),
        });
      }
      expect(server.logs.length).toBeGreaterThan(3);
      expect(server.logs.join('\n')).not.toContain(SECRET);
      expect(server.logs.join('\n')).not.toContain('RS_CLIENT_ID');
    } finally {
      await server.close();
      await issuer.close();
    }
  });
});
