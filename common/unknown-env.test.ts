import { describe, expect, it } from 'vitest';
import { KNOWN_SETTINGS, unknownSettings } from './unknown-env.ts';

describe('unknown settings', () => {
  it('warns about a misspelt variable, naming the closest known one', () => {
    expect(unknownSettings({ AUTH_ISUER: 'https://auth.example' })).toEqual([
      {
        variable: 'AUTH_ISUER',
        closest: 'AUTH_ISSUER',
        message: 'AUTH_ISUER is not a setting of either server and is ignored; did you mean AUTH_ISSUER?',
      },
    ]);
  });

  it('finds the closest one for swapped letters, a wrong prefix and a missing word part, for each prefix', () => {
    const closest = (name: string) => unknownSettings({ [name]: '1' }).map((u) => u.closest);
    expect(closest('AUTH_ISSEUR')).toEqual(['AUTH_ISSUER']);
    expect(closest('RS_TOKEN_CACHE_SIZ')).toEqual(['RS_TOKEN_CACHE_SIZE']);
    expect(closest('MCP_STATELES')).toEqual(['MCP_STATELESS']);
    expect(closest('MCP_MAX_SESSION_PER_USER')).toEqual(['MCP_MAX_SESSIONS_PER_USER']);
    expect(closest('RS_ISSUER')).toEqual(['AUTH_ISSUER']);
  });

  it('says nothing about known variables, whichever server reads them', () => {
    expect(unknownSettings(Object.fromEntries(KNOWN_SETTINGS.map((name) => [name, 'x'])))).toEqual([]);
    expect(unknownSettings({ AUTH_JWKS_URL: 'http://a', RS_RESOURCE_URL: 'http://r/mcp', MCP_STATELESS: '1' })).toEqual([]);
  });

  it('leaves variables without our prefixes alone, and an empty value (unset, as for every setting)', () => {
    expect(unknownSettings({ PATH: '/bin', DATABSE_URL: 'postgres://x', NODE_OPTIONS: '', AUTHOR: 'me', AUTH_ISUER: '' })).toEqual([]);
  });

  it('reports several in a stable order', () => {
    expect(unknownSettings({ RS_PROT: '1', AUTH_PROT: '1' }).map((u) => [u.variable, u.closest])).toEqual([
      ['AUTH_PROT', 'AUTH_PORT'],
      ['RS_PROT', 'RS_PORT'],
    ]);
  });
});
