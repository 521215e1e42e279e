import { describe, expect, it } from 'vitest';
import { listen } from '../common/http-server.ts';
import { createLogger } from '../common/logger.ts';
import { createResourceServer } from './app.ts';
import { loadConfig } from './config.ts';
import { INITIALIZE, MCP_POST_HEADERS } from './testing/test-server.ts';
import { demoTools } from './tools/index.ts';
import { createToolRegistry, defineTool, type ToolRegistry } from './tools/registry.ts';

const tool = (name: string, requiredScopes: string[], requiredRoles: string[] = []) =>
  defineTool({ name, title: name, description: name, requiredScopes, requiredRoles, run: () => ({ content: [] }) });

/** The WWW-Authenticate of a request without a token, from a real server serving `tools`. */
async function challengeFor(tools: ToolRegistry): Promise<string> {
  const config = loadConfig({
    RS_PORT: '0',
    RS_HOST: '127.0.0.1',
    RS_RESOURCE_URL: 'http://127.0.0.1:3001/mcp',
    AUTH_ISSUER: 'http://127.0.0.1:1',
    NODE_ENV: 'test',
  });
  const server = createResourceServer(config, { tools, logger: createLogger({ name: 'rs', level: 'silent', pretty: false }) });
  const http = await listen(server.app, 0, '127.0.0.1');
  try {
    const response = await fetch(`${http.url}/mcp`, { method: 'POST', headers: MCP_POST_HEADERS, body: JSON.stringify(INITIALIZE) });
    expect(response.status).toBe(401);
    return response.headers.get('www-authenticate') ?? '';
  } finally {
    await server.close();
    await http.close();
  }
}

describe('the scope a 401 challenges for comes from the tool registry', () => {
  it('is the scopes of the tools any user can call (no role needed): mcp:tools for the demo tools', async () => {
    expect(demoTools.basicScopes).toEqual(['mcp:tools']);
    expect(await challengeFor(demoTools)).toContain('scope="mcp:tools"');
  });

  it('follows the tools: a new role-free tool’s scope is challenged for, a role-gated tool’s is left to step-up', async () => {
    const tools = createToolRegistry([
      tool('read', ['docs:read']),
      tool('search', ['docs:read', 'docs:search']),
      tool('purge', ['docs:admin'], ['admin']),
    ]);
    expect(tools.scopes).toEqual(['docs:read', 'docs:search', 'docs:admin']);
    expect(tools.basicScopes).toEqual(['docs:read', 'docs:search']);
    expect(await challengeFor(tools)).toContain('scope="docs:read docs:search"');
  });

  it('never challenges for offline_access, and names no scope when every tool needs a role', async () => {
    expect(createToolRegistry([tool('a', ['x', 'offline_access'])]).basicScopes).toEqual(['x']);
    const gated = createToolRegistry([tool('purge', ['docs:admin'], ['admin'])]);
    expect(gated.basicScopes).toEqual([]);
    // The client then asks for the metadata's scopes_supported (MCP authorization spec).
    expect(await challengeFor(gated)).not.toContain('scope=');
  });
});
