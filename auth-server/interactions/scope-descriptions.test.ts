import { describe, expect, it } from 'vitest';
import { describeScopes, GENERIC_SCOPE_DESCRIPTION } from './scope-descriptions.ts';

describe('scope descriptions on the consent page', () => {
  it('describes the OpenID scopes and the demo resource scopes in plain words', () => {
    expect(describeScopes(['openid', 'mcp:tools', 'mcp:admin'])).toEqual([
      { name: 'openid', description: 'Know who you are (your user id)' },
      { name: 'mcp:tools', description: 'Use the tools of this MCP server on your behalf' },
      { name: 'mcp:admin', description: 'Use administrative tools (only if your account has the admin role)' },
    ]);
  });

  it('gives a configured scope it has no words for a generic sentence, once per scope', () => {
    expect(describeScopes(['docs:read', 'docs:read'])).toEqual([{ name: 'docs:read', description: GENERIC_SCOPE_DESCRIPTION }]);
  });
});
