import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIssuer, type TestIssuer } from './testing/test-issuer.ts';
import { callerOf } from './tools/caller.ts';
import { createToolRegistry, defineTool } from './tools/registry.ts';
import { INITIALIZE, MCP_POST_HEADERS, requestFrom, startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

let issuer: TestIssuer;
let rs: RunningResourceServer;
const clients: Client[] = [];

beforeAll(async () => {
  issuer = await startTestIssuer();
  rs = await startResourceServer({ AUTH_ISSUER: issuer.url });
});
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await rs.close();
  await issuer.close();
});

function token(claims: Record<string, unknown> = {}, server = rs) {
  return issuer.mint({ claims: { aud: server.mcpUrl, ...claims } });
}

async function connect(accessToken: string, server = rs) {
  const client = new Client({ name: 'mcp-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(server.mcpUrl), {
    requestInit: { headers: { Authorization: `Bearer ${accessToken}` } },
  });
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

const text = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;

function rawPost(body: unknown, headers: Record<string, string>, server = rs) {
  return fetch(server.mcpUrl, {
    method: 'POST',
    headers: { ...MCP_POST_HEADERS, 'mcp-protocol-version': '2025-11-25', ...headers },
    body: JSON.stringify(body),
  });
}

describe('MCP over Streamable HTTP with a valid token (the SDK client)', () => {
  it('lists every tool, whatever the token scopes', async () => {
    const { client } = await connect(await token({ scope: 'mcp:tools' }));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['admin_report', 'greet', 'reverse', 'whoami']);
  });

  it('lets tools see the caller: subject, client_id, scopes, roles and expiry (whoami)', async () => {
    const accessToken = await token({ sub: 'user-bob', client_id: 'cli-42', scope: 'mcp:tools', roles: ['reader'] });
    const { client } = await connect(accessToken);
    const caller = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} })));
    expect(caller).toMatchObject({ kind: 'user', subject: 'user-bob', clientId: 'cli-42', scopes: ['mcp:tools'], roles: ['reader'] });
    expect(caller.expiresAt).toBeGreaterThan(Date.now() / 1000);
  });

  it('greet(name) answers "Hello, <name>! Your user id is <sub>."', async () => {
    const { client } = await connect(await token({ sub: 'user-carol' }));
    expect(text(await client.callTool({ name: 'greet', arguments: { name: 'World' } }))).toBe('Hello, World! Your user id is user-carol.');
  });

  it('reverse(text) sends progress notifications before its result', async () => {
    const { client } = await connect(await token());
    const progress: number[] = [];
    const result = await client.callTool({ name: 'reverse', arguments: { text: 'stressed' } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(text(result)).toBe('desserts');
    expect(progress).toEqual([1, 2, 3, 4]);
  });

  it('admin_report runs for a token with mcp:admin and a user with the admin role', async () => {
    const { client } = await connect(await token({ sub: 'user-root', scope: 'mcp:tools mcp:admin', roles: ['admin'] }));
    const result = (await client.callTool({ name: 'admin_report', arguments: {} })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(JSON.parse(text(result)).generatedFor).toBe('user-root');
  });

  it('refuses admin_report to a user without the admin role with a tool error naming the role (RBAC)', async () => {
    const { client } = await connect(await token({ scope: 'mcp:tools mcp:admin', roles: ['reader'] }));
    const result = (await client.callTool({ name: 'admin_report', arguments: {} })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/requires the role admin/);
  });

  it('answers an unknown tool with the SDK JSON-RPC error, not a 403', async () => {
    const { client } = await connect(await token());
    const result = (await client.callTool({ name: 'no_such_tool', arguments: {} }).catch((e: Error) => e)) as CallToolResult | Error;
    const message = result instanceof Error ? result.message : text(result);
    expect(message).toMatch(/not found/i);
  });
});

describe('callers without a user (client_credentials tokens: sub = client_id)', () => {
  const machineToken = (server = rs) => token({ sub: 'svc-backup', client_id: 'svc-backup', roles: [] }, server);

  it('whoami reports a machine as kind "machine"', async () => {
    const { client } = await connect(await machineToken());
    const caller = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} })));
    expect(caller).toMatchObject({ kind: 'machine', subject: 'svc-backup', clientId: 'svc-backup' });
  });

  it('greet does not call a client id a user id', async () => {
    const { client } = await connect(await machineToken());
    expect(text(await client.callTool({ name: 'greet', arguments: { name: 'Ops' } }))).toBe(
      'Hello, Ops! You are the client svc-backup, calling without a user.',
    );
  });

  it('a token whose sub differs from its client_id is a user', async () => {
    const { client } = await connect(await token({ sub: 'svc-backup', client_id: 'another-client' }));
    expect(JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} }))).kind).toBe('user');
  });

  it('refuses a tool that requires a user (the default) to a machine with a tool error, and serves users and machine-friendly tools', async () => {
    const notes = defineTool({
      name: 'my_notes',
      title: 'My notes',
      description: "A user's own notes.",
      requiredScopes: ['mcp:tools'],
      run: (extra) => ({ content: [{ type: 'text', text: `notes of ${callerOf(extra).subject}` }] }),
    });
    const ping = defineTool({
      name: 'ping',
      title: 'Ping',
      description: 'pong',
      requiredScopes: ['mcp:tools'],
      requiresUser: false,
      run: () => ({ content: [{ type: 'text', text: 'pong' }] }),
    });
    const custom = await startResourceServer({ AUTH_ISSUER: issuer.url }, { tools: createToolRegistry([notes, ping]) });
    try {
      const { client: machineClient } = await connect(await machineToken(custom), custom);
      const refused = (await machineClient.callTool({ name: 'my_notes', arguments: {} })) as CallToolResult;
      expect(refused.isError).toBe(true);
      expect(text(refused)).toMatch(
        /^Forbidden: my_notes needs a signed-in user; this token belongs to the client svc-backup without a user/,
      );
      expect(text(await machineClient.callTool({ name: 'ping', arguments: {} }))).toBe('pong');
      const { client: userClient } = await connect(await token({ sub: 'user-dora', client_id: 'notes-app' }, custom), custom);
      const served = (await userClient.callTool({ name: 'my_notes', arguments: {} })) as CallToolResult;
      expect(served.isError).toBeFalsy();
      expect(text(served)).toBe('notes of user-dora');
    } finally {
      await custom.close();
    }
  });
});

describe('scopes are checked before dispatch (HTTP 403 the client can step up on)', () => {
  it('answers a tools/call that lacks mcp:admin with 403 and the exact insufficient_scope challenge', async () => {
    const { client, transport } = await connect(await token({ scope: 'mcp:tools', roles: ['admin'] }));
    const response = await rawPost(
      { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'admin_report', arguments: {} } },
      { authorization: `Bearer ${await token({ scope: 'mcp:tools', roles: ['admin'] })}`, 'mcp-session-id': transport.sessionId! },
    );
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", scope="mcp:tools mcp:admin", resource_metadata="${new URL('/.well-known/oauth-protected-resource/mcp', rs.mcpUrl).href}"`,
    );
    const viaSdk = await client.callTool({ name: 'admin_report', arguments: {} }).catch((e: unknown) => e);
    expect(viaSdk).toBeInstanceOf(StreamableHTTPError);
    expect((viaSdk as StreamableHTTPError).code).toBe(403);
  });

  it('names every scope a batch needs', async () => {
    const { transport } = await connect(await token({ scope: 'mcp:admin' }));
    const response = await rawPost(
      [
        { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'greet', arguments: { name: 'a' } } },
        { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'admin_report', arguments: {} } },
      ],
      { authorization: `Bearer ${await token({ scope: 'mcp:admin' })}`, 'mcp-session-id': transport.sessionId! },
    );
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toContain('scope="mcp:tools mcp:admin"');
  });

  it('refuses a token without mcp:tools for greet', async () => {
    const { client } = await connect(await token({ scope: 'openid' }));
    const error = await client.callTool({ name: 'greet', arguments: { name: 'x' } }).catch((e: unknown) => e);
    expect((error as StreamableHTTPError).code).toBe(403);
  });
});

describe('sessions', () => {
  it('binds a session to the token subject: another subject with that session id gets 404', async () => {
    const { transport } = await connect(await token({ sub: 'user-alice' }));
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    const mallory = await rawPost(list, {
      authorization: `Bearer ${await token({ sub: 'user-mallory' })}`,
      'mcp-session-id': transport.sessionId!,
    });
    expect(mallory.status).toBe(404);
    // A new token of the same subject (a refresh) keeps the session.
    const alice = await rawPost(list, {
      authorization: `Bearer ${await token({ sub: 'user-alice' })}`,
      'mcp-session-id': transport.sessionId!,
    });
    expect(alice.status).toBe(200);
  });

  it("binds a session to the client too: the same user's token from another client gets 404", async () => {
    const { transport } = await connect(await token({ sub: 'user-alice', client_id: 'client-a' }));
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    const otherClient = await rawPost(list, {
      authorization: `Bearer ${await token({ sub: 'user-alice', client_id: 'client-b' })}`,
      'mcp-session-id': transport.sessionId!,
    });
    expect(otherClient.status).toBe(404);
    expect(await otherClient.json()).toEqual({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
    const sameClient = await rawPost(list, {
      authorization: `Bearer ${await token({ sub: 'user-alice', client_id: 'client-a' })}`,
      'mcp-session-id': transport.sessionId!,
    });
    expect(sameClient.status).toBe(200);
  });

  it('issues unguessable session ids (UUIDv4 from the CSPRNG), never reused', async () => {
    const ids = await Promise.all([1, 2, 3].map(async () => (await connect(await token())).transport.sessionId));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(3);
  });

  it('answers an unknown session id with 404 and a missing one with 400', async () => {
    const auth = { authorization: `Bearer ${await token()}` };
    expect(
      (await rawPost({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { ...auth, 'mcp-session-id': crypto.randomUUID() })).status,
    ).toBe(404);
    expect((await rawPost({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, auth)).status).toBe(400);
  });

  it('ends a session on DELETE', async () => {
    const { client, transport } = await connect(await token());
    const id = transport.sessionId!;
    await transport.terminateSession();
    const after = await rawPost(
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      { authorization: `Bearer ${await token()}`, 'mcp-session-id': id },
    );
    expect(after.status).toBe(404);
    await client.close();
  });

  it('closes idle sessions and caps how many are open', async () => {
    const small = await startResourceServer({ AUTH_ISSUER: issuer.url, MCP_SESSION_IDLE_TTL_MS: '150', MCP_MAX_SESSIONS: '1' });
    try {
      const auth = { authorization: `Bearer ${await token({}, small)}` };
      const first = await rawPost(INITIALIZE, auth, small);
      const id = first.headers.get('mcp-session-id')!;
      expect(first.status).toBe(200);
      expect((await rawPost(INITIALIZE, auth, small)).status).toBe(503);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect((await rawPost({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, { ...auth, 'mcp-session-id': id }, small)).status).toBe(404);
      expect((await rawPost(INITIALIZE, auth, small)).status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it("caps one user's open sessions (429) without taking other users' slots", async () => {
    const capped = await startResourceServer({ AUTH_ISSUER: issuer.url, MCP_MAX_SESSIONS_PER_USER: '2' });
    try {
      const alice = { authorization: `Bearer ${await token({ sub: 'alice' }, capped)}` };
      const bob = { authorization: `Bearer ${await token({ sub: 'bob' }, capped)}` };
      const first = await rawPost(INITIALIZE, alice, capped);
      expect(first.status).toBe(200);
      expect((await rawPost(INITIALIZE, alice, capped)).status).toBe(200);
      const third = await rawPost(INITIALIZE, alice, capped);
      expect(third.status).toBe(429);
      // Nothing of hers frees a slot before her oldest session would idle out (30 min by default).
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(1790);
      expect(Number(third.headers.get('retry-after'))).toBeLessThanOrEqual(1800);
      expect((await third.json()).error).toMatchObject({
        message: expect.stringMatching(/for this user/),
        data: { cap: 'user', limit: 2 },
      });
      expect((await rawPost(INITIALIZE, bob, capped)).status).toBe(200);
      // Ending one of alice's sessions frees her slot.
      const ended = await fetch(capped.mcpUrl, {
        method: 'DELETE',
        headers: { ...alice, 'mcp-session-id': first.headers.get('mcp-session-id')! },
      });
      expect(ended.status).toBe(200);
      expect((await rawPost(INITIALIZE, alice, capped)).status).toBe(200);
    } finally {
      await capped.close();
    }
  });
});

describe('session caps that one caller cannot exhaust', () => {
  const machine = (id: string, server: RunningResourceServer) => token({ sub: id, client_id: id }, server);
  const initializeFrom = async (address: string, accessToken: string, server: RunningResourceServer) =>
    requestFrom(address, server.mcpUrl, { body: INITIALIZE, headers: { authorization: `Bearer ${accessToken}` } });

  it("five machine clients from one address fill only that address's share (429 naming it), and a user from another address still gets a session", async () => {
    const server = await startResourceServer({
      AUTH_ISSUER: issuer.url,
      MCP_MAX_SESSIONS: '12',
      MCP_MAX_SESSIONS_PER_USER: '3',
      MCP_MAX_SESSIONS_PER_IP: '6',
    });
    try {
      const answers = [];
      for (let c = 1; c <= 5; c++) {
        const accessToken = await machine(`machine-${c}`, server);
        for (let i = 0; i < 3; i++) answers.push(await initializeFrom('127.0.0.1', accessToken, server));
      }
      expect(answers.map((a) => a.status)).toEqual([...Array(6).fill(200), ...Array(9).fill(429)]);
      const refused = answers.at(-1)!;
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(JSON.parse(refused.body)).toMatchObject({
        jsonrpc: '2.0',
        error: { code: -32000, message: expect.stringMatching(/from this address/), data: { cap: 'ip', limit: 6 } },
        id: null,
      });
      const user = await initializeFrom('127.0.0.2', await token({ sub: 'user-real', client_id: 'claude' }, server), server);
      expect(user.status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('parallel initializes cannot overshoot a cap (the check and the new session are one step)', async () => {
    const server = await startResourceServer({ AUTH_ISSUER: issuer.url, MCP_MAX_SESSIONS_PER_IP: '3' });
    try {
      const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => machine(`burst-${i}`, server)));
      const answers = await Promise.all(tokens.map((t) => initializeFrom('127.0.0.1', t, server)));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(3);
      expect(answers.filter((a) => a.status === 429)).toHaveLength(17);
    } finally {
      await server.close();
    }
  });

  it("caps one client's sessions across its users (429 naming the client), without touching other clients", async () => {
    const server = await startResourceServer({ AUTH_ISSUER: issuer.url, MCP_MAX_SESSIONS_PER_CLIENT: '2' });
    try {
      const statuses = [];
      for (const [i, address] of ['127.0.0.1', '127.0.0.2', '127.0.0.3'].entries()) {
        statuses.push((await initializeFrom(address, await token({ sub: `user-${i}`, client_id: 'busy-app' }, server), server)).status);
      }
      expect(statuses).toEqual([200, 200, 429]);
      const refused = await initializeFrom('127.0.0.3', await token({ sub: 'user-9', client_id: 'busy-app' }, server), server);
      expect(JSON.parse(refused.body).error).toMatchObject({
        message: expect.stringMatching(/for this client/),
        data: { cap: 'client', limit: 2 },
      });
      expect((await initializeFrom('127.0.0.3', await token({ sub: 'user-9', client_id: 'quiet-app' }, server), server)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('answers 503 with Retry-After only when the whole server is full, naming that cause', async () => {
    const server = await startResourceServer({ AUTH_ISSUER: issuer.url, MCP_MAX_SESSIONS: '2', MCP_SESSION_IDLE_TTL_MS: '60000' });
    try {
      expect((await initializeFrom('127.0.0.1', await token({ sub: 'a', client_id: 'x' }, server), server)).status).toBe(200);
      expect((await initializeFrom('127.0.0.2', await token({ sub: 'b', client_id: 'y' }, server), server)).status).toBe(200);
      const full = await initializeFrom('127.0.0.3', await token({ sub: 'c', client_id: 'z' }, server), server);
      expect(full.status).toBe(503);
      // The earliest idle session expires within the idle TTL: that is when to come back.
      expect(Number(full.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(full.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(JSON.parse(full.body).error).toMatchObject({ message: expect.stringMatching(/server/), data: { cap: 'server', limit: 2 } });
    } finally {
      await server.close();
    }
  });
});

describe('bad input never gets a 500', () => {
  it('answers a body that is not JSON with 400 and a JSON-RPC parse error', async () => {
    const response = await fetch(rs.mcpUrl, {
      method: 'POST',
      headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${await token()}` },
      body: '{"jsonrpc": "2.0", "id": 1,',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: Invalid JSON' }, id: null });
  });

  it('answers a JSON body that is not JSON-RPC with 400', async () => {
    const response = await rawPost({ hello: 'world' }, { authorization: `Bearer ${await token()}` });
    expect(response.status).toBe(400);
  });

  it('answers a non-JSON content type with 415', async () => {
    const response = await fetch(rs.mcpUrl, {
      method: 'POST',
      headers: { accept: MCP_POST_HEADERS.accept, 'content-type': 'text/plain', authorization: `Bearer ${await token()}` },
      body: 'hi',
    });
    expect(response.status).toBe(415);
  });
});

describe('Origin validation and CORS', () => {
  it('refuses a request whose Origin is not allowed with 403, before looking at the token (DNS rebinding)', async () => {
    const response = await rawPost(INITIALIZE, { origin: 'http://attacker.example', authorization: `Bearer ${await token()}` });
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses Origin "null" (sandboxed pages, file://)', async () => {
    expect((await rawPost(INITIALIZE, { origin: 'null', authorization: `Bearer ${await token()}` })).status).toBe(403);
  });

  it('allows localhost origins in development and exposes WWW-Authenticate to them', async () => {
    const response = await rawPost(INITIALIZE, { origin: 'http://localhost:6274' });
    expect(response.status).toBe(401);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:6274');
    expect(response.headers.get('access-control-expose-headers')).toMatch(/WWW-Authenticate/);
    expect(response.headers.get('access-control-expose-headers')).toMatch(/Mcp-Session-Id/);
  });

  it('answers a CORS preflight for the MCP endpoint with the headers an MCP client sends', async () => {
    const response = await fetch(rs.mcpUrl, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://127.0.0.1:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, mcp-session-id',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173');
    const allowed = response.headers.get('access-control-allow-headers') ?? '';
    for (const header of ['Authorization', 'Content-Type', 'Accept', 'Mcp-Session-Id', 'MCP-Protocol-Version', 'Last-Event-ID'])
      expect(allowed).toContain(header);
    expect(response.headers.get('access-control-allow-methods')).toContain('DELETE');
  });

  it('refuses a preflight from a foreign origin', async () => {
    const response = await fetch(rs.mcpUrl, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows only the configured origins when MCP_ALLOWED_ORIGINS is set', async () => {
    const strict = await startResourceServer({ AUTH_ISSUER: issuer.url, MCP_ALLOWED_ORIGINS: 'https://app.example.com' });
    try {
      expect((await rawPost(INITIALIZE, { origin: 'http://localhost:6274' }, strict)).status).toBe(403);
      expect((await rawPost(INITIALIZE, { origin: 'https://app.example.com' }, strict)).status).toBe(401);
    } finally {
      await strict.close();
    }
  });
});

describe('RFC 9728 Protected Resource Metadata', () => {
  it('is served at the path-inserted URL and at the root form, identical, readable cross-origin', async () => {
    const inserted = await fetch(new URL('/.well-known/oauth-protected-resource/mcp', rs.url), {
      headers: { origin: 'https://anywhere.example' },
    });
    const root = await fetch(new URL('/.well-known/oauth-protected-resource', rs.url));
    expect(inserted.status).toBe(200);
    expect(inserted.headers.get('access-control-allow-origin')).toBe('*');
    const metadata = await inserted.json();
    expect(await root.json()).toEqual(metadata);
    expect(metadata).toEqual({
      resource: rs.mcpUrl,
      authorization_servers: [issuer.url],
      scopes_supported: ['mcp:tools', 'mcp:admin'],
      bearer_methods_supported: ['header'],
      resource_name: expect.any(String),
      resource_documentation: `${rs.url}/`,
      dpop_signing_alg_values_supported: expect.arrayContaining(['ES256']),
    });
    expect(new URL(metadata.resource).href).toBe(metadata.resource);
  });

  it('serves the documentation page it points at, and /healthz', async () => {
    expect((await fetch(`${rs.url}/`)).status).toBe(200);
    const health = await fetch(`${rs.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  });
});
