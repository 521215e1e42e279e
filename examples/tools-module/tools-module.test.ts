import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/config-error.ts';
import { startTestIssuer, type TestIssuer } from '../../resource-server/testing/test-issuer.ts';
import { MCP_POST_HEADERS, startResourceServer, type RunningResourceServer } from '../../resource-server/testing/test-server.ts';
import { loadToolsModule } from '../../resource-server/tools-module.ts';

const MODULE = fileURLToPath(new URL('./my-tools.ts', import.meta.url));
let issuer: TestIssuer;
let rs: RunningResourceServer;

beforeAll(async () => {
  issuer = await startTestIssuer();
  rs = await startResourceServer({ AUTH_ISSUER: issuer.url, MCP_TOOLS_MODULE: MODULE });
});
afterAll(async () => {
  await rs?.close();
  await issuer?.close();
});

const token = (scope: string, roles: string[] = []) => issuer.mint({ claims: { aud: rs.mcpUrl, scope, roles } });

describe('MCP_TOOLS_MODULE: your own tools without forking (examples/tools-module)', () => {
  it("serves the module's tools instead of the demo tools: a real client lists and calls them", async () => {
    const client = new Client({ name: 'tools-module-test', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(rs.mcpUrl), {
        requestInit: { headers: { authorization: `Bearer ${await token('mcp:tools')}` } },
      }),
    );
    try {
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      expect(names).toEqual(['add', 'audit_note']);
      const result = (await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } })) as CallToolResult;
      expect(result.structuredContent).toEqual({ sum: 42 });
    } finally {
      await client.close();
    }
  });

  it("enforces the module's scopes (403 step-up) and roles (tool error)", async () => {
    const call = async (bearer: string) =>
      fetch(rs.mcpUrl, {
        method: 'POST',
        headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${bearer}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'audit_note', arguments: { note: 'x' } } }),
      });
    const refused = await call(await token('mcp:tools'));
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toContain('scope="mcp:tools mcp:admin"');

    const client = new Client({ name: 'tools-module-test', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(rs.mcpUrl), {
        requestInit: { headers: { authorization: `Bearer ${await token('mcp:tools mcp:admin')}` } },
      }),
    );
    try {
      const result = (await client.callTool({ name: 'audit_note', arguments: { note: 'x' } })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(result.content[0]).toMatchObject({ text: expect.stringContaining('requires the role admin') });
    } finally {
      await client.close();
    }
  });

  it('publishes the module’s scopes in the metadata', async () => {
    const metadata = (await (await fetch(`${rs.url}/.well-known/oauth-protected-resource/mcp`)).json()) as { scopes_supported: string[] };
    expect(metadata.scopes_supported).toEqual(['mcp:tools', 'mcp:admin']);
  });

  it('refuses, as a configuration error, a module that cannot be loaded or exports no tools made with defineTool', async () => {
    await expect(loadToolsModule('./no-such-module.ts')).rejects.toThrow(/MCP_TOOLS_MODULE: cannot load \.\/no-such-module\.ts/);
    const bad = fileURLToPath(new URL('./bad-tools.ts', import.meta.url));
    await expect(loadToolsModule(bad)).rejects.toThrow(ConfigError);
    await expect(loadToolsModule(bad)).rejects.toThrow(/entry 0 is not made with defineTool/);
  });

  it('resolves a relative path against the working directory', async () => {
    const registry = await loadToolsModule('examples/tools-module/my-tools.ts', fileURLToPath(new URL('../..', import.meta.url)));
    expect(registry.tools.map((tool) => tool.name)).toEqual(['add', 'audit_note']);
  });
});
