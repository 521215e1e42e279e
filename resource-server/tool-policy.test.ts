import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../common/config-error.ts';
import { loadConfig } from './config.ts';
import { startTestIssuer, type TestIssuer } from './testing/test-issuer.ts';
import { jsonRpcAnswer, MCP_POST_HEADERS, postModern, startResourceServer, type RunningResourceServer } from './testing/test-server.ts';
import { parseToolPolicy } from './tool-policy.ts';

const POLICY = {
  default: { scopes: ['mcp:tools'] },
  rules: [
    { tools: 'whoami', scopes: ['mcp:read'] },
    { tools: 'rev*', roles: ['editor'] },
    { tools: 'greet', deny: true },
  ],
};

const dir = mkdtempSync(join(tmpdir(), 'tool-policy-'));
const write = (name: string, content: string) => {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
};
const policyFile = write('policy.json', JSON.stringify(POLICY));

let issuer: TestIssuer;
const servers: Record<'sessions' | 'stateless', RunningResourceServer> = {} as never;

beforeAll(async () => {
  issuer = await startTestIssuer();
  servers.sessions = await startResourceServer({ AUTH_ISSUER: issuer.url, MCP_TOOL_POLICY: policyFile });
  servers.stateless = await startResourceServer({ AUTH_ISSUER: issuer.url, MCP_TOOL_POLICY: policyFile, MCP_STATELESS: '1' });
});
afterAll(async () => {
  await servers.sessions?.close();
  await servers.stateless?.close();
  await issuer?.close();
  rmSync(dir, { recursive: true, force: true });
});

const token = (rs: RunningResourceServer, scope: string, roles: string[] = []) => issuer.mint({ claims: { aud: rs.mcpUrl, scope, roles } });

async function clientFor(rs: RunningResourceServer, bearer: string): Promise<Client> {
  const client = new Client({ name: 'policy-test', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(rs.mcpUrl), { requestInit: { headers: { authorization: `Bearer ${bearer}` } } }),
  );
  return client;
}

const callRaw = async (rs: RunningResourceServer, bearer: string, name: string) =>
  fetch(rs.mcpUrl, {
    method: 'POST',
    headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: {} } }),
  });

describe('MCP_TOOL_POLICY: scopes, roles and deny per tool', () => {
  it('marks the 2026-07-28 tools/list private: with role-gated tools hidden, the list differs by caller', async () => {
    const rs = servers.sessions;
    const response = await postModern(rs.mcpUrl, 'tools/list', {}, { authorization: `Bearer ${await token(rs, 'mcp:tools')}` });
    const body = await jsonRpcAnswer(response);
    expect(body.result).toMatchObject({ cacheScope: 'private' });
  });
  it('a scope the policy requires and the token lacks gets the 403 step-up challenge naming it', async () => {
    const rs = servers.sessions;
    const response = await callRaw(rs, await token(rs, 'mcp:tools'), 'whoami');
    expect(response.status).toBe(403);
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toMatch(/scope="[^"]*mcp:read[^"]*"/);
    expect(challenge).toMatch(/scope="[^"]*mcp:tools[^"]*"/);
  });

  it("a broad default never lowers a tool's own scopes: admin_report still needs mcp:admin", async () => {
    const rs = servers.sessions;
    const response = await callRaw(rs, await token(rs, 'mcp:tools', ['admin']), 'admin_report');
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toMatch(/scope="[^"]*mcp:admin[^"]*"/);
  });

  it('with the scope the policy requires, the call goes through', async () => {
    const rs = servers.sessions;
    const client = await clientFor(rs, await token(rs, 'mcp:tools mcp:read'));
    try {
      const result = (await client.callTool({ name: 'whoami', arguments: {} })) as CallToolResult;
      expect(result.isError).toBeFalsy();
    } finally {
      await client.close();
    }
  });

  it('publishes the scopes the policy names in the Protected Resource Metadata', async () => {
    const rs = servers.sessions;
    const metadata = (await (await fetch(`${rs.url}/.well-known/oauth-protected-resource/mcp`)).json()) as { scopes_supported: string[] };
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['mcp:tools', 'mcp:read', 'mcp:admin']));
  });

  for (const mode of ['sessions', 'stateless'] as const) {
    describe(`(${mode})`, () => {
      it('a role the policy requires and the user lacks gives a tool error naming the role', async () => {
        const rs = servers[mode];
        const client = await clientFor(rs, await token(rs, 'mcp:tools'));
        try {
          const result = (await client.callTool({ name: 'reverse', arguments: { text: 'abc' } })) as CallToolResult;
          expect(result.isError).toBe(true);
          expect(result.content[0]).toMatchObject({ text: 'Forbidden: reverse requires role editor.' });
        } finally {
          await client.close();
        }
      });

      it('hides from tools/list the tools the caller can never use (a missing role), and lists them for a caller with the role', async () => {
        const rs = servers[mode];
        const plain = await clientFor(rs, await token(rs, 'mcp:tools'));
        const editor = await clientFor(rs, await token(rs, 'mcp:tools', ['editor']));
        try {
          const plainNames = (await plain.listTools()).tools.map((tool) => tool.name);
          expect(plainNames).toContain('whoami');
          expect(plainNames).not.toContain('reverse');
          expect(plainNames).not.toContain('admin_report');
          const editorNames = (await editor.listTools()).tools.map((tool) => tool.name);
          expect(editorNames).toContain('reverse');
          const result = (await editor.callTool({ name: 'reverse', arguments: { text: 'abc' } })) as CallToolResult;
          expect(result.isError).toBeFalsy();
          expect(result.content[0]).toMatchObject({ text: 'cba' });
        } finally {
          await plain.close();
          await editor.close();
        }
      });

      it('a denied tool is neither listed nor callable, whatever the token carries', async () => {
        const rs = servers[mode];
        const client = await clientFor(rs, await token(rs, 'mcp:tools mcp:read mcp:admin', ['admin', 'editor']));
        try {
          expect((await client.listTools()).tools.map((tool) => tool.name)).not.toContain('greet');
          const outcome = await client.callTool({ name: 'greet', arguments: { name: 'x' } }).then(
            (result) => (result as CallToolResult).isError === true,
            () => true,
          );
          expect(outcome).toBe(true);
        } finally {
          await client.close();
        }
      });
    });
  }
});

describe('MCP_TOOL_POLICY validation', () => {
  const configWith = (file: string) => () => loadConfig({ AUTH_ISSUER: 'http://127.0.0.1:1', MCP_TOOL_POLICY: file });

  it('refuses a file that is not JSON, naming the variable and the file', () => {
    const file = write('broken.json', '{ "rules": [');
    expect(configWith(file)).toThrow(ConfigError);
    expect(configWith(file)).toThrow(/MCP_TOOL_POLICY: cannot read .*broken\.json as JSON/);
  });

  it('refuses a missing file', () => {
    expect(configWith(join(dir, 'nope.json'))).toThrow(/MCP_TOOL_POLICY: cannot read/);
  });

  it('refuses a misspelt key (it must not silently grant access) and says where', () => {
    const file = write('typo.json', JSON.stringify({ rules: [{ tools: 'get-env', role: ['admin'] }] }));
    expect(configWith(file)).toThrow(/MCP_TOOL_POLICY: .*typo\.json: rules\.0: .*role/);
  });

  it('refuses a rule without tools, a scope with a space, and a deny rule with scopes', () => {
    expect(() => parseToolPolicy({ rules: [{ scopes: ['a'] }] })).toThrow();
    expect(() => parseToolPolicy({ default: { scopes: ['a b'] } })).toThrow();
    expect(() => parseToolPolicy({ rules: [{ tools: 'x', deny: true, scopes: ['a'] }] })).toThrow();
  });

  it('first match wins; globs match whole names; the default covers the rest', () => {
    const policy = parseToolPolicy({
      default: { scopes: ['base'] },
      rules: [
        { tools: 'trigger-safe', scopes: ['t'] },
        { tools: 'trigger-*', deny: true },
        { tools: ['get-env', 'x.y'], roles: ['admin'] },
      ],
    });
    expect(policy.accessFor('trigger-safe')).toMatchObject({ scopes: ['t'], deny: false });
    // A rule without scopes keeps the default's.
    expect(policy.accessFor('get-env')).toMatchObject({ scopes: ['base'] });
    expect(policy.accessFor('trigger-long-running')).toMatchObject({ deny: true });
    expect(policy.accessFor('a-trigger-x')).toMatchObject({ scopes: ['base'], deny: false });
    expect(policy.accessFor('get-env')).toMatchObject({ roles: ['admin'] });
    // `.` is literal, not a regex wildcard.
    expect(policy.accessFor('xzy')).toMatchObject({ roles: [] });
    expect(policy.scopes).toEqual(['base', 't']);
  });
});
