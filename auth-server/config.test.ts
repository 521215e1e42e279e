import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../common/config-error.ts';
import { loadConfig, loadKeysDir, loadStorageConfig } from './config.ts';

/** The problems a ConfigError lists, or [] when the environment is accepted. */
function problems(load: () => unknown): string[] {
  try {
    load();
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('auth server configuration: the scopes of each protected resource', () => {
  it('grants mcp:tools and mcp:admin for the resource by default, and mcp:tools to a request naming none', () => {
    // NODE_ENV=production: one canonical URL per endpoint (development adds the loopback aliases).
    const config = loadConfig({
      NODE_ENV: 'production',
      AUTH_ISSUER: 'https://auth.example',
      RS_RESOURCE_URL: 'https://mcp.example/mcp',
      AUTH_EXTRA_RESOURCES: 'https://other.example/mcp',
    });
    const resource = (url: string) => expect.objectContaining({ url, scopes: ['mcp:tools', 'mcp:admin'], defaultScopes: ['mcp:tools'] });
    expect(config.resources).toEqual([
      resource('https://mcp.example/mcp'),
      resource('https://mcp.example/sse'),
      resource('https://other.example/mcp'),
    ]);
  });

  it('takes the scopes as configuration (AUTH_RESOURCE_SCOPES, space or comma separated), for every resource', () => {
    const config = loadConfig({
      AUTH_RESOURCE_SCOPES: 'mcp:tools, docs:read docs:read',
      AUTH_DEFAULT_SCOPES: 'docs:read',
      AUTH_EXTRA_RESOURCES: 'http://localhost:4001/mcp',
    });
    expect(config.resources.length).toBeGreaterThan(2); // the MCP URL, its /sse sibling, loopback aliases, the extra one
    for (const r of config.resources)
      expect([r.url, r.scopes, r.defaultScopes]).toEqual([r.url, ['mcp:tools', 'docs:read'], ['docs:read']]);
    expect(config.resources.map((r) => r.url)).toContain('http://localhost:4001/mcp');
  });

  it('refuses default scopes the resource does not have, the auth server’s own scopes as resource scopes, and an empty list', () => {
    expect(problems(() => loadConfig({ AUTH_RESOURCE_SCOPES: 'docs:read' }))).toEqual([
      'AUTH_DEFAULT_SCOPES: mcp:tools is not in AUTH_RESOURCE_SCOPES (docs:read)',
    ]);
    expect(problems(() => loadConfig({ AUTH_RESOURCE_SCOPES: 'mcp:tools offline_access' }))).toEqual([
      "AUTH_RESOURCE_SCOPES: must not name the auth server's own scopes (openid, offline_access, profile, email)",
    ]);
    expect(problems(() => loadConfig({ AUTH_RESOURCE_SCOPES: ' , ' }))).toEqual(['AUTH_RESOURCE_SCOPES: must name at least one scope']);
  });
});

describe('auth server configuration: every variable through the schema', () => {
  it('reads LOG_FORMAT as json or pretty (any case), unset when not given', () => {
    expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'Pretty' }).logFormat).toBe('pretty');
    expect(loadConfig({}).logFormat).toBeUndefined();
  });

  it('refuses LOG_FORMAT=xml instead of ignoring it', () => {
    expect(problems(() => loadConfig({ LOG_FORMAT: 'xml' }))).toEqual(['LOG_FORMAT: must be json or pretty']);
  });

  it('gives the CLIs the storage settings with the server’s defaults and checks, and nothing else is required', () => {
    expect(loadStorageConfig({})).toEqual({
      dataDir: resolve('./data'),
      databaseUrl: undefined,
      databasePoolSize: 10,
      sqliteSynchronous: 'normal',
    });
    // A setting the storage does not use may be broken: the CLI still works.
    expect(
      loadStorageConfig({ DATA_DIR: '/tmp/x', DATABASE_POOL_SIZE: '3', AUTH_SQLITE_SYNCHRONOUS: 'full', AUTH_ISSUER: 'nope' }),
    ).toEqual({
      dataDir: '/tmp/x',
      databaseUrl: undefined,
      databasePoolSize: 3,
      sqliteSynchronous: 'full',
    });
    expect(
      problems(() => loadStorageConfig({ DATABASE_URL: 'mysql://db/auth', DATABASE_POOL_SIZE: '0', AUTH_SQLITE_SYNCHRONOUS: 'sometimes' })),
    ).toEqual([
      'DATABASE_URL: must be a postgres:// URL',
      expect.stringMatching(/^DATABASE_POOL_SIZE: /),
      'AUTH_SQLITE_SYNCHRONOUS: must be normal or full',
    ]);
  });

  it('gives npm run keys KEYS_DIR resolved as the server resolves it (empty = the default)', () => {
    expect(loadKeysDir({})).toBe(resolve('./keys'));
    expect(loadKeysDir({ KEYS_DIR: '' })).toBe(resolve('./keys'));
    expect(loadKeysDir({ KEYS_DIR: 'secrets/keys' })).toBe(resolve('secrets/keys'));
    expect(loadKeysDir({ KEYS_DIR: 'secrets/keys' })).toBe(loadConfig({ KEYS_DIR: 'secrets/keys' }).keysDir);
  });
});

describe('auth server configuration: personal access tokens', () => {
  it('caps PAT lifetimes at 90 days unless AUTH_PAT_MAX_DAYS says otherwise, and refuses a cap that is not a positive number of days', () => {
    expect(loadConfig({}).patMaxDays).toBe(90);
    expect(loadConfig({ AUTH_PAT_MAX_DAYS: '7' }).patMaxDays).toBe(7);
    for (const value of ['0', '-1', 'forever', '1.5']) {
      expect(problems(() => loadConfig({ AUTH_PAT_MAX_DAYS: value })).join('\n'), value).toMatch(/AUTH_PAT_MAX_DAYS/);
    }
  });
});
