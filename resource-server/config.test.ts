import { describe, expect, it } from 'vitest';
import { ConfigError } from '../common/config-error.ts';
import { LOOPBACK } from '../common/http-server.ts';
import { loadConfig } from './config.ts';
import { startResourceServer } from './testing/test-server.ts';
import { INITIALIZE, MCP_POST_HEADERS } from './testing/test-server.ts';

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
    });
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

  it('refuses MCP_AUTH_DISABLED with NODE_ENV=production', () => {
    expect(() => loadConfig({ MCP_AUTH_DISABLED: 'true', NODE_ENV: 'production' })).toThrow(/MCP_AUTH_DISABLED/);
  });

  it('refuses a resource URL without a path or not in normal form (it must equal the token aud exactly)', () => {
    expect(() => loadConfig({ RS_RESOURCE_URL: 'http://localhost:3001' })).toThrow(/RS_RESOURCE_URL/);
    expect(() => loadConfig({ RS_RESOURCE_URL: 'http://LOCALHOST:3001/mcp' })).toThrow(/normal form/);
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
