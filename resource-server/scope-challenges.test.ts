import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../common/free-port.ts';
import { listen } from '../common/http-server.ts';
import { createLogger } from '../common/logger.ts';
import { createResourceServer } from './app.ts';
import { loadConfig } from './config.ts';
import { startTestIssuer, type TestIssuer } from './testing/test-issuer.ts';
import { MCP_POST_HEADERS } from './testing/test-server.ts';
import { greet } from './tools/greet.ts';
import { createToolRegistry, defineTool } from './tools/registry.ts';

/** A tool whose one operation needs two scopes at once. */
const syncFiles = defineTool({
  name: 'sync_files',
  title: 'Sync files',
  description: 'Reads and writes files.',
  requiredScopes: ['files:read', 'files:write'],
  run: () => ({ content: [{ type: 'text', text: 'synced' }] }),
});

/** A misdeclared tool: offline_access is the authorization server's business, never a resource requirement. */
const keepAlive = defineTool({
  name: 'keep_alive',
  title: 'Keep alive',
  description: 'Claims to need offline_access.',
  requiredScopes: ['mcp:tools', 'offline_access'],
  run: () => ({ content: [{ type: 'text', text: 'alive' }] }),
});

let issuer: TestIssuer;
let mcpUrl: string;
let prmUrl: string;
let stop: () => Promise<void>;

beforeAll(async () => {
  issuer = await startTestIssuer();
  const port = await freePort();
  const config = loadConfig({
    RS_PORT: String(port),
    RS_HOST: '127.0.0.1',
    RS_RESOURCE_URL: `http://127.0.0.1:${port}/mcp`,
    AUTH_ISSUER: issuer.url,
    LOG_LEVEL: 'silent',
    NODE_ENV: 'test',
    MCP_STATELESS: '1',
  });
  const rs = createResourceServer(config, {
    logger: createLogger({ name: 'rs', level: 'silent', pretty: false }),
    tools: createToolRegistry([greet, syncFiles, keepAlive]),
  });
  const http = await listen(rs.app, config.port, config.host);
  mcpUrl = config.resourceUrl;
  prmUrl = `http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`;
  stop = async () => {
    const stopped = http.close();
    await rs.close();
    http.server.closeAllConnections();
    await stopped;
  };
});
afterAll(async () => {
  await stop?.();
  await issuer?.close();
});

const call = (name: string, id = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: name === 'greet' ? { name: 'a' } : {} },
});

async function post(body: unknown, scope?: string): Promise<Response> {
  const headers: Record<string, string> = { ...MCP_POST_HEADERS, 'mcp-protocol-version': '2025-11-25' };
  if (scope !== undefined) headers.authorization = `Bearer ${await issuer.mint({ claims: { aud: mcpUrl, scope } })}`;
  return fetch(mcpUrl, { method: 'POST', headers, body: JSON.stringify(body) });
}

/** The scopes of the WWW-Authenticate challenge. */
function challengedScopes(response: Response): string[] {
  const match = /scope="([^"]*)"/.exec(response.headers.get('www-authenticate') ?? '');
  return match ? match[1]!.split(' ') : [];
}

// MCP 2026-07-28 "Scope Challenge Handling" (SEP-2350) and "Refresh Tokens" (SEP-2207).
describe('scope challenges name what the operation needs, and never offline_access', () => {
  it('names every scope one tool needs in a single 403 challenge', async () => {
    const response = await post(call('sync_files'), 'mcp:tools');
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer error="insufficient_scope"/);
    expect(challengedScopes(response)).toEqual(expect.arrayContaining(['files:read', 'files:write']));
  });

  it('names every scope a JSON-RPC batch needs in a single 403 challenge', async () => {
    const response = await post([call('greet', 1), call('sync_files', 2)], 'files:read');
    expect(response.status).toBe(403);
    expect(challengedScopes(response).sort()).toEqual(['files:read', 'files:write', 'mcp:tools']);
  });

  it('lets a token with every scope the tool needs through', async () => {
    const response = await post(call('sync_files'), 'files:read files:write');
    expect(response.status).toBe(200);
  });

  it('never lists offline_access in the Protected Resource Metadata, even when a tool names it', async () => {
    const metadata = (await (await fetch(prmUrl)).json()) as { scopes_supported: string[] };
    expect(metadata.scopes_supported).toEqual(['mcp:tools', 'files:read', 'files:write']);
  });

  it('never challenges for offline_access: not in the 401, not in a 403, and a token without it is not refused for it', async () => {
    const unauthenticated = await post(call('keep_alive'));
    expect(unauthenticated.status).toBe(401);
    // The 401 names the scopes of every tool a plain user can call (no role needed), minus offline_access.
    expect(challengedScopes(unauthenticated)).toEqual(['mcp:tools', 'files:read', 'files:write']);

    const withoutAnything = await post(call('keep_alive'), 'files:read');
    expect(withoutAnything.status).toBe(403);
    expect(challengedScopes(withoutAnything)).not.toContain('offline_access');
    expect(challengedScopes(withoutAnything)).toContain('mcp:tools');

    const heldByToken = await post(call('sync_files'), 'mcp:tools offline_access');
    expect(heldByToken.status).toBe(403);
    expect(challengedScopes(heldByToken)).not.toContain('offline_access');

    expect((await post(call('keep_alive'), 'mcp:tools')).status).toBe(200);
  });
});
