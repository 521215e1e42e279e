import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client as V2Client, StreamableHTTPClientTransport as V2StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type CreateMessageRequest,
  type ElicitRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addUser, startAuthServer, type TestAuthServer } from '../../auth-server/testing/harness.ts';
import { freePort } from '../../common/free-port.ts';
import { callTool, connect, textOf, TestOAuthProvider } from '../../e2e/mcp-client.ts';
import { loadConfig } from '../config.ts';
import { configuredTools } from '../tools-module.ts';
import { signInAs } from '../testing/oauth-client.ts';
import { startTestIssuer, type TestIssuer } from '../testing/test-issuer.ts';
import { startResourceServer, type RunningResourceServer } from '../testing/test-server.ts';
import { createGateway } from './gateway.ts';
import { startRecordingUpstream } from './testing/recording-upstream.ts';

const EVERYTHING = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const FIXTURE = fileURLToPath(new URL('./testing/fixture-upstream.ts', import.meta.url));
const REDIRECT_URI = 'http://127.0.0.1:8976/callback';
const PASSWORD = 'correct horse battery staple';

const dir = mkdtempSync(join(tmpdir(), 'gateway-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function bearerClient(url: string, token: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'gateway-test', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}`, ...headers } } }),
  );
  cleanups.push(() => client.close());
  return client;
}

/** A 2025-era client with a session that answers sampling, elicitation and roots, and records what it was asked and told. */
async function answeringClient(url: string, token: string) {
  const client = new Client({ name: 'gateway-test', version: '1' }, { capabilities: { sampling: {}, elicitation: {}, roots: {} } });
  const asked: { sampling: CreateMessageRequest['params'][]; elicitation: ElicitRequest['params'][] } = { sampling: [], elicitation: [] };
  const logs: string[] = [];
  let toolListChanged = 0;
  client.setRequestHandler(CreateMessageRequestSchema, (request) => {
    asked.sampling.push(request.params);
    return { role: 'assistant', model: 'test-model', content: { type: 'text', text: '4' } };
  });
  client.setRequestHandler(ElicitRequestSchema, (request) => {
    asked.elicitation.push(request.params);
    return { action: 'accept', content: { name: 'Alice' } };
  });
  client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: 'file:///work/project', name: 'project' }] }));
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => void logs.push(String(notification.params.data)));
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => void toolListChanged++);
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  cleanups.push(() => client.close());
  return { client, asked, logs, toolListChanged: () => toolListChanged };
}

/** Whether a process is alive (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
async function waitUntil(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  if (!check()) throw new Error(`timed out waiting until ${what}`);
}

describe('gateway over stdio: @modelcontextprotocol/server-everything behind the whole OAuth flow', () => {
  let auth: TestAuthServer;
  let rs: RunningResourceServer;

  beforeAll(async () => {
    const port = await freePort();
    const resource = `http://127.0.0.1:${port}/mcp`;
    auth = await startAuthServer({ RS_RESOURCE_URL: resource });
    await addUser(auth, 'alice');
    await addUser(auth, 'bob', ['admin']);
    const policy = join(dir, 'policy.json');
    writeFileSync(
      policy,
      JSON.stringify({
        default: { scopes: ['mcp:tools'] },
        rules: [
          { tools: 'get-env', scopes: ['mcp:admin'], roles: ['admin'] },
          { tools: 'trigger-*', deny: true },
        ],
      }),
    );
    process.env.GATEWAY_TEST_SECRET = 'must not reach the upstream';
    process.env.GATEWAY_TEST_ALLOWED = 'passed on';
    rs = await startResourceServer({
      RS_PORT: String(port),
      RS_RESOURCE_URL: resource,
      AUTH_ISSUER: auth.url,
      MCP_UPSTREAM_COMMAND: process.execPath,
      MCP_UPSTREAM_ARGS: JSON.stringify([EVERYTHING, 'stdio']),
      MCP_UPSTREAM_ENV: 'GATEWAY_TEST_ALLOWED',
      MCP_UPSTREAM_IDENTITY: 'env',
      MCP_TOOL_POLICY: policy,
    });
  }, 30_000);
  afterAll(async () => {
    delete process.env.GATEWAY_TEST_SECRET;
    delete process.env.GATEWAY_TEST_ALLOWED;
    await rs?.close();
    await auth?.close();
  });

  it('the real SDK client signs in, lists the upstream tools (denied and role-only ones left out) and calls one', async () => {
    const provider = new TestOAuthProvider({ redirectUrl: REDIRECT_URI });
    const connection = await connect(rs.mcpUrl, provider, signInAs({ username: 'alice', password: PASSWORD }, REDIRECT_URI));
    cleanups.push(() => connection.close());
    const names = (await connection.client.listTools()).tools.map((tool) => tool.name);
    expect(names).toContain('echo');
    expect(names).not.toContain('get-env');
    expect(names.filter((name) => name.startsWith('trigger-'))).toEqual([]);
    const result = (await connection.client.callTool({ name: 'echo', arguments: { message: 'through the gateway' } })) as CallToolResult;
    expect(textOf(result)).toBe('Echo: through the gateway');
    const denied = await connection.client.callTool({ name: 'trigger-long-running-operation', arguments: {} }).then(
      () => 'served',
      (error: Error) => error.message,
    );
    expect(denied).toMatch(/not found/);
    const refused = (await connection.client.callTool({ name: 'get-env', arguments: {} }).catch(() => undefined)) as
      CallToolResult | undefined;
    // alice's token lacks mcp:admin: the SDK stops for a step-up (403), which she could not use anyway.
    expect(refused?.content ?? []).not.toContainEqual(expect.objectContaining({ text: expect.stringContaining('PATH') }));
  });

  it('an admin steps up to mcp:admin for get-env; the stdio upstream sees only PATH, HOME, the named variable and the caller', async () => {
    const provider = new TestOAuthProvider({ redirectUrl: REDIRECT_URI });
    const bob = signInAs({ username: 'bob', password: PASSWORD }, REDIRECT_URI);
    const connection = await connect(rs.mcpUrl, provider, bob);
    cleanups.push(() => connection.close());
    expect((await connection.client.listTools()).tools.map((tool) => tool.name)).toContain('get-env');
    const result = await callTool(connection, provider, bob, 'get-env');
    // The step-up happened: a second authorization, for mcp:admin.
    expect(provider.authorizationUrls.at(-1)!.searchParams.get('scope')).toContain('mcp:admin');
    const env = JSON.parse(textOf(result)) as Record<string, string>;
    expect(env.GATEWAY_TEST_ALLOWED).toBe('passed on');
    expect(env.GATEWAY_TEST_SECRET).toBeUndefined();
    // No scopes in the environment: they change with a step-up, the environment does not.
    expect(env.MCP_SCOPES).toBeUndefined();
    expect(env.MCP_ROLES).toBe('admin');
    expect(env.MCP_USER_SUB).toBeTruthy();
    const allowed = ['PATH', 'HOME', 'GATEWAY_TEST_ALLOWED', 'MCP_USER_SUB', 'MCP_CLIENT_ID', 'MCP_ROLES'];
    expect(Object.keys(env).filter((key) => !allowed.includes(key))).toEqual([]);
  });

  it("serves the upstream's resources and prompts too", async () => {
    const provider = new TestOAuthProvider({ redirectUrl: REDIRECT_URI });
    const connection = await connect(rs.mcpUrl, provider, signInAs({ username: 'alice', password: PASSWORD }, REDIRECT_URI));
    cleanups.push(() => connection.close());
    // The default connection is the v2 client (2026-07-28); McpConnection types only what all kinds share.
    const client = connection.client as unknown as V2Client;
    const { resources } = await client.listResources();
    expect(resources.length).toBeGreaterThan(0);
    const read = await client.readResource({ uri: resources[0]!.uri });
    expect(read.contents[0]?.uri).toBe(resources[0]!.uri);
    const { prompts } = await client.listPrompts();
    expect(prompts.map((prompt) => prompt.name)).toContain('simple-prompt');
  });

  it('publishes the policy scopes in the metadata', async () => {
    const metadata = (await (await fetch(`${rs.url}/.well-known/oauth-protected-resource/mcp`)).json()) as { scopes_supported: string[] };
    expect(metadata.scopes_supported).toEqual(['mcp:tools', 'mcp:admin']);
  });
});

describe('gateway isolation and failures (stdio fixture, tokens from a test issuer)', () => {
  let issuer: TestIssuer;
  beforeAll(async () => {
    issuer = await startTestIssuer();
  });
  afterAll(async () => issuer?.close());

  async function startGateway(env: Record<string, string> = {}) {
    const config = loadConfig({
      AUTH_ISSUER: issuer.url,
      MCP_UPSTREAM_COMMAND: process.execPath,
      MCP_UPSTREAM_ARGS: JSON.stringify([FIXTURE]),
      ...env,
    });
    const gateway = createGateway({ upstream: config.upstream!, identity: 'none', idleTtlMs: 60_000 });
    const rs = await startResourceServer({ AUTH_ISSUER: issuer.url, ...env }, { tools: gateway });
    cleanups.push(() => rs.close());
    const token = (sub: string) => issuer.mint({ claims: { aud: rs.mcpUrl, sub, scope: 'mcp:tools' } });
    const pidOf = async (client: Client) => Number(textOf((await client.callTool({ name: 'pid', arguments: {} })) as CallToolResult));
    return { rs, gateway, token, pidOf };
  }

  it('two users get two upstream processes; ending a session ends its process', async () => {
    const { rs, token, pidOf } = await startGateway();
    const alice = await bearerClient(rs.mcpUrl, await token('user-alice'));
    const bob = await bearerClient(rs.mcpUrl, await token('user-bob'));
    const [alicePid, bobPid] = [await pidOf(alice), await pidOf(bob)];
    expect(alicePid).not.toBe(bobPid);
    expect(await pidOf(alice)).toBe(alicePid);
    await (alice.transport as StreamableHTTPClientTransport).terminateSession();
    await waitUntil(() => !alive(alicePid), "alice's upstream ended");
    expect(alive(bobPid)).toBe(true);
  });

  it('stateless: one upstream per subject + client, ended when idle', async () => {
    const { rs, gateway, token, pidOf } = await startGateway({ MCP_STATELESS: '1' });
    const first = await bearerClient(rs.mcpUrl, await token('user-alice'));
    const again = await bearerClient(rs.mcpUrl, await token('user-alice'));
    const other = await bearerClient(rs.mcpUrl, await token('user-bob'));
    const pid = await pidOf(first);
    expect(await pidOf(again)).toBe(pid);
    expect(await pidOf(other)).not.toBe(pid);
    gateway.pool.sweep(Date.now() + 60_001);
    await waitUntil(() => !alive(pid), 'the idle upstream ended');
    expect(gateway.pool.size).toBe(0);
  });

  it('a crashed upstream gives a clear JSON-RPC error, and the next request gets a fresh process', async () => {
    const { rs, token, pidOf } = await startGateway();
    const client = await bearerClient(rs.mcpUrl, await token('user-alice'));
    const before = await pidOf(client);
    const error = await client.callTool({ name: 'crash', arguments: {} }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/upstream MCP server ended unexpectedly/);
    const after = await pidOf(client);
    expect(after).not.toBe(before);
  });

  it('a hung upstream: the client gets a JSON-RPC error after MCP_UPSTREAM_TIMEOUT_MS, other sessions and /healthz keep working, and the session keeps its process', async () => {
    // The timeout also bounds starting a session's process and its initialize: 3 s leaves room for a
    // busy machine starting node, while the hang still ends well before the test's own limit.
    const { rs, token, pidOf } = await startGateway({ MCP_UPSTREAM_TIMEOUT_MS: '3000' });
    const alice = await bearerClient(rs.mcpUrl, await token('user-alice'));
    const bob = await bearerClient(rs.mcpUrl, await token('user-bob'));
    const pid = await pidOf(alice);
    const started = Date.now();
    const hung = alice.callTool({ name: 'hang', arguments: {} }).then(
      () => undefined,
      (e: Error) => e,
    );
    // While alice's call hangs: another session, and alice's own session, are served.
    expect(await pidOf(bob)).not.toBe(pid);
    expect(await pidOf(alice)).toBe(pid);
    expect((await fetch(`${rs.url}/healthz`)).status).toBe(200);
    const error = await hung;
    expect(error?.message).toMatch(/upstream MCP server failed: it did not answer within 3000 ms \(MCP_UPSTREAM_TIMEOUT_MS\)/);
    expect(Date.now() - started).toBeLessThan(15_000);
    // The SDK cancelled the call upstream; the process is not leaked but kept: the session's next call reuses it.
    expect(await pidOf(alice)).toBe(pid);
    expect(alive(pid)).toBe(true);
  });

  it("forwards the upstream's progress notifications to the client", async () => {
    const { rs, token } = await startGateway();
    const client = await bearerClient(rs.mcpUrl, await token('user-alice'));
    const seen: number[] = [];
    const result = (await client.callTool({ name: 'progress', arguments: {} }, undefined, {
      onprogress: (progress) => seen.push(progress.progress),
    })) as CallToolResult;
    expect(textOf(result)).toBe('done');
    expect(seen).toEqual([1, 2]);
  });

  it("the upstream's sampling and elicitation requests reach the session's client during the call, and its answers go back", async () => {
    const { rs, token } = await startGateway();
    const { client, asked } = await answeringClient(rs.mcpUrl, await token('user-alice'));
    const sampled = (await client.callTool({ name: 'ask-model', arguments: {} })) as CallToolResult;
    expect(textOf(sampled)).toBe('the model (test-model) said 4');
    expect(asked.sampling).toEqual([expect.objectContaining({ maxTokens: 10 })]);
    expect(asked.sampling[0]!.messages[0]!.content).toEqual({ type: 'text', text: 'What is 2 + 2?' });
    const elicited = (await client.callTool({ name: 'ask-user', arguments: {} })) as CallToolResult;
    expect(textOf(elicited)).toBe('accept: Alice');
    expect(asked.elicitation).toEqual([expect.objectContaining({ message: 'Your name?' })]);
    const roots = (await client.callTool({ name: 'roots', arguments: {} })) as CallToolResult;
    expect(textOf(roots)).toBe('file:///work/project');
  });

  it('a session client without the sampling capability: the upstream is not offered it and its request is refused', async () => {
    const { rs, token } = await startGateway();
    const client = await bearerClient(rs.mcpUrl, await token('user-alice'));
    const result = (await client.callTool({ name: 'ask-model', arguments: {} })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/cannot pass sampling\/createMessage on: it needs a downstream MCP session/);
  });

  it('stateless (2025) and 2026-07-28 requests: sampling has no way back, so the upstream gets a clear refusal', async () => {
    const { rs, token } = await startGateway({ MCP_STATELESS: '1' });
    const stateless = await bearerClient(rs.mcpUrl, await token('user-alice'));
    const result = (await stateless.callTool({ name: 'ask-model', arguments: {} })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/cannot pass sampling\/createMessage on: it needs a downstream MCP session/);

    const session = await startGateway();
    const modern = new V2Client({ name: 'gateway-test', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await modern.connect(
      new V2StreamableHTTPClientTransport(new URL(session.rs.mcpUrl), {
        requestInit: { headers: { authorization: `Bearer ${await session.token('user-bob')}` } },
      }),
    );
    cleanups.push(() => modern.close());
    expect(modern.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const refused = await modern.callTool({ name: 'ask-model', arguments: {} });
    expect(refused.isError).toBe(true);
    expect(textOf(refused as CallToolResult)).toMatch(/cannot pass sampling\/createMessage on: it needs a downstream MCP session/);
    // The upstream was offered no elicitation, so its SDK does not even ask.
    const notAsked = await modern.callTool({ name: 'ask-user', arguments: {} });
    expect(notAsked.isError).toBe(true);
    expect(textOf(notAsked as CallToolResult)).toMatch(/does not support form elicitation/);
  });

  it("the upstream's log lines (at the client's level) and tools/list_changed reach the session's client", async () => {
    const { rs, token } = await startGateway();
    const { client, logs, toolListChanged } = await answeringClient(rs.mcpUrl, await token('user-alice'));
    // The level goes upstream: the info line is never sent.
    await client.setLoggingLevel('warning');
    expect(textOf((await client.callTool({ name: 'log-and-grow', arguments: {} })) as CallToolResult)).toBe('grown');
    expect(logs).toEqual(['a warning line']);
    await waitUntil(() => toolListChanged() > 0, 'tools/list_changed arrived');
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('added-1');
  });

  it('an upstream that is not MCP (an HTML page, a 404, a program printing garbage, a silent one) gives a clear JSON-RPC error that leaks no token', async () => {
    const web = createServer((req, res) => {
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'text/html' }).end('<html><body>a web page</body></html>');
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      web.closeAllConnections();
      return new Promise((resolve) => web.close(() => resolve()));
    });
    const base = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    const garbage = join(dir, 'garbage-pid');
    const cases: [Record<string, string>, RegExp][] = [
      [{ MCP_UPSTREAM_URL: `${base}/page` }, /could not be reached: .*text\/html/],
      [{ MCP_UPSTREAM_URL: `${base}/missing` }, /could not be reached \(HTTP 404\)/],
      [
        {
          MCP_UPSTREAM_COMMAND: process.execPath,
          MCP_UPSTREAM_ARGS: JSON.stringify([
            '-e',
            `require('fs').writeFileSync(${JSON.stringify(garbage)}, String(process.pid)); console.log('hello'); setInterval(() => {}, 1000)`,
          ]),
          // Caught on the line, not by the timeout.
          MCP_UPSTREAM_TIMEOUT_MS: '600000',
        },
        /could not be reached: the upstream MCP server wrote something that is not JSON-RPC on stdout: "hello"/,
      ],
      [
        {
          MCP_UPSTREAM_COMMAND: process.execPath,
          MCP_UPSTREAM_ARGS: JSON.stringify(['-e', 'setInterval(() => {}, 1000)']),
          MCP_UPSTREAM_TIMEOUT_MS: '500',
        },
        /could not be reached: it did not answer initialize within 500 ms \(MCP_UPSTREAM_TIMEOUT_MS\); is it an MCP server\?/,
      ],
    ];
    for (const [env, expected] of cases) {
      const config = loadConfig({ AUTH_ISSUER: issuer.url, ...env });
      const gateway = createGateway({ upstream: config.upstream!, identity: 'none', idleTtlMs: 60_000 });
      const rs = await startResourceServer({ AUTH_ISSUER: issuer.url }, { tools: gateway });
      cleanups.push(() => rs.close());
      const token = await issuer.mint({ claims: { aud: rs.mcpUrl, scope: 'mcp:tools' } });
      const client = await bearerClient(rs.mcpUrl, token);
      const error = await client.listTools().then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).toMatch(expected);
      expect(error?.message).not.toContain(token);
      // Unrelated requests are served as ever.
      expect((await fetch(`${rs.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${rs.url}/.well-known/oauth-protected-resource/mcp`)).status).toBe(200);
      expect(gateway.pool.size).toBe(0);
    }
    // The program that never spoke MCP was ended, not left running.
    const pid = Number(readFileSync(garbage, 'utf8'));
    await waitUntil(() => !alive(pid), 'the garbage-printing upstream ended');
  });

  it('an upstream that writes something not JSON-RPC on stdout after initialize: the call fails at once with a clear error, that process ends, other sessions and /healthz are fine, the next call gets a fresh process', async () => {
    // The timeout is far away: only the detection can answer within the test's limits.
    const { rs, token, pidOf } = await startGateway({ MCP_UPSTREAM_TIMEOUT_MS: '600000' });
    const alice = await bearerClient(rs.mcpUrl, await token('user-alice'));
    const bob = await bearerClient(rs.mcpUrl, await token('user-bob'));
    const [alicePid, bobPid] = [await pidOf(alice), await pidOf(bob)];
    const started = Date.now();
    const error = await alice.callTool({ name: 'garbage', arguments: {} }).then(
      () => undefined,
      (e: Error) => e,
    );
    const took = Date.now() - started;
    expect(error?.message).toMatch(
      /The upstream MCP server wrote something that is not JSON-RPC on stdout: "Server ready on port 8080 \(this is not JSON-RPC\)"; it was ended, and the next request starts a new one/,
    );
    expect(took).toBeLessThan(2_000);
    await waitUntil(() => !alive(alicePid), "alice's garbage-printing upstream ended");
    expect((await fetch(`${rs.url}/healthz`)).status).toBe(200);
    expect(await pidOf(bob)).toBe(bobPid);
    const fresh = await pidOf(alice);
    expect(fresh).not.toBe(alicePid);
    expect(alive(fresh)).toBe(true);
    // A JSON line that is not JSON-RPC (a JSON logger on stdout) fails just as fast.
    const again = Date.now();
    await expect(alice.callTool({ name: 'json-garbage', arguments: {} })).rejects.toThrow(
      /wrote something that is not JSON-RPC on stdout: "a JSON value that is not a JSON-RPC message"; it was ended/,
    );
    expect(Date.now() - again).toBeLessThan(2_000);
    expect(await pidOf(alice)).not.toBe(fresh);
  });

  it("resources/subscribe and unsubscribe reach the session's own upstream; its resources/updated reach that session only", async () => {
    const { rs, token } = await startGateway();
    const watch = async (sub: string) => {
      const client = new Client({ name: 'gateway-test', version: '1' });
      const updates: string[] = [];
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => void updates.push(notification.params.uri));
      await client.connect(
        new StreamableHTTPClientTransport(new URL(rs.mcpUrl), {
          requestInit: { headers: { authorization: `Bearer ${await token(sub)}` } },
        }),
      );
      cleanups.push(() => client.close());
      return { client, updates };
    };
    const alice = await watch('user-alice');
    const bob = await watch('user-bob');
    // The upstream offers subscriptions, so the gateway does too.
    expect(alice.client.getServerCapabilities()?.resources?.subscribe).toBe(true);
    expect(alice.client.getServerCapabilities()?.completions).toEqual({});
    await alice.client.subscribeResource({ uri: 'fixture://counter' });
    const touch = async (client: Client) => textOf((await client.callTool({ name: 'touch', arguments: {} })) as CallToolResult);
    await touch(alice.client);
    await waitUntil(() => alice.updates.length === 1, 'alice was told of the update');
    expect(alice.updates).toEqual(['fixture://counter']);
    // Bob's session has its own upstream, where nothing was subscribed: he hears nothing of it.
    await touch(bob.client);
    await touch(alice.client);
    await waitUntil(() => alice.updates.length === 2, 'alice was told of her second update');
    expect(bob.updates).toEqual([]);
    await alice.client.unsubscribeResource({ uri: 'fixture://counter' });
    await touch(alice.client);
    // The tool's answer comes after any notification it sent: none came.
    expect(alice.updates).toHaveLength(2);
    expect(bob.updates).toEqual([]);
  });

  it('subscriptions without a session (stateless, 2026-07-28) are refused with a clear error; the capability is not advertised there', async () => {
    const { rs, token } = await startGateway({ MCP_STATELESS: '1' });
    const stateless = await bearerClient(rs.mcpUrl, await token('user-alice'));
    await expect(stateless.subscribeResource({ uri: 'fixture://counter' })).rejects.toThrow(
      /cannot pass resources\/subscribe on: resource updates need a downstream MCP session/,
    );

    const session = await startGateway();
    const modern = new V2Client({ name: 'gateway-test', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await modern.connect(
      new V2StreamableHTTPClientTransport(new URL(session.rs.mcpUrl), {
        requestInit: { headers: { authorization: `Bearer ${await session.token('user-bob')}` } },
      }),
    );
    cleanups.push(() => modern.close());
    expect(modern.getServerCapabilities()?.resources?.subscribe).toBeFalsy();
    // 2026-07-28 has no resources/subscribe at all: the SDK client refuses to send it (the gateway's
    // handler refuses it without a session too, as the stateless case above shows).
    const refused = await Promise.resolve()
      .then(() =>
        (modern as unknown as { request(r: object): Promise<unknown> }).request({
          method: 'resources/subscribe',
          params: { uri: 'fixture://counter' },
        }),
      )
      .then(
        () => 'subscribed',
        (e: Error) => e.message,
      );
    expect(refused).toMatch(/resources\/subscribe/);
  });

  it('completion/complete reaches the upstream for a prompt or template the caller is shown; one it is not shown is refused like an unknown one', async () => {
    const { rs, token } = await startGateway();
    const client = await bearerClient(rs.mcpUrl, await token('user-alice'));
    const prompt = await client.complete({ ref: { type: 'ref/prompt', name: 'greeting' }, argument: { name: 'name', value: 'Al' } });
    expect(prompt.completion.values).toEqual(['greeting:Al-completed']);
    const template = await client.complete({
      ref: { type: 'ref/resource', uri: 'fixture://files/{name}' },
      argument: { name: 'name', value: 're' },
    });
    expect(template.completion.values).toEqual(['fixture://files/{name}:re-completed']);
    // The fixture would complete anything; the gateway checks what it lists to this caller.
    await expect(client.complete({ ref: { type: 'ref/prompt', name: 'hidden' }, argument: { name: 'name', value: 'x' } })).rejects.toThrow(
      /Prompt hidden not found/,
    );
    await expect(
      client.complete({ ref: { type: 'ref/resource', uri: 'fixture://secret/{name}' }, argument: { name: 'name', value: 'x' } }),
    ).rejects.toThrow(/Resource fixture:\/\/secret\/\{name\} not found/);
  });

  it('an upstream without subscriptions or completions: the gateway advertises neither and refuses both clearly', async () => {
    const { rs, token } = await startGateway({ MCP_UPSTREAM_ARGS: JSON.stringify([FIXTURE, '--plain']) });
    const client = await bearerClient(rs.mcpUrl, await token('user-alice'));
    expect(client.getServerCapabilities()?.resources).toBeTruthy();
    expect(client.getServerCapabilities()?.resources?.subscribe).toBeFalsy();
    expect(client.getServerCapabilities()?.completions).toBeUndefined();
    await expect(client.subscribeResource({ uri: 'fixture://counter' })).rejects.toThrow(
      /The upstream MCP server offers no resource subscriptions/,
    );
    await expect(
      client.complete({ ref: { type: 'ref/resource', uri: 'fixture://counter' }, argument: { name: 'x', value: 'y' } }),
    ).rejects.toThrow(/The upstream MCP server offers no completions/);
  });

  it('an upstream command that cannot start gives a JSON-RPC error, not a crash', async () => {
    const config = loadConfig({ AUTH_ISSUER: issuer.url, MCP_UPSTREAM_COMMAND: join(dir, 'no-such-command') });
    const gateway = createGateway({ upstream: config.upstream!, identity: 'none', idleTtlMs: 60_000 });
    const rs = await startResourceServer({ AUTH_ISSUER: issuer.url }, { tools: gateway });
    cleanups.push(() => rs.close());
    const client = await bearerClient(rs.mcpUrl, await issuer.mint({ claims: { aud: rs.mcpUrl } }));
    await expect(client.listTools()).rejects.toThrow(/ENOENT|spawn|closed/i);
  });
});

describe('gateway over Streamable HTTP: no token passthrough', () => {
  it("the upstream never sees the client's token or its X-MCP-* headers, only the identity we verified; one upstream session per downstream session", async () => {
    const issuer = await startTestIssuer();
    const upstream = await startRecordingUpstream();
    const rs = await startResourceServer({ AUTH_ISSUER: issuer.url, MCP_UPSTREAM_URL: upstream.url, MCP_UPSTREAM_IDENTITY: 'headers' });
    cleanups.push(async () => {
      await rs.close();
      await upstream.close();
      await issuer.close();
    });
    const token = await issuer.mint({ claims: { aud: rs.mcpUrl, sub: 'user-alice', scope: 'mcp:tools', roles: ['reader'] } });
    const forged = { 'x-mcp-user-sub': 'user-mallory', 'x-mcp-roles': 'admin', 'x-mcp-extra': 'sneaky' };
    const one = await bearerClient(rs.mcpUrl, token, forged);
    const two = await bearerClient(rs.mcpUrl, token, forged);
    expect(textOf((await one.callTool({ name: 'echo', arguments: { text: 'hi' } })) as CallToolResult)).toBe('upstream says hi');
    expect(textOf((await two.callTool({ name: 'echo', arguments: { text: 'ho' } })) as CallToolResult)).toBe('upstream says ho');

    expect(upstream.requests.length).toBeGreaterThan(0);
    for (const headers of upstream.requests) {
      expect(headers.authorization).toBeUndefined();
      expect(headers.dpop).toBeUndefined();
      expect(JSON.stringify(headers)).not.toContain(token);
      expect(headers['x-mcp-user-sub']).toBe('user-alice');
      expect(headers['x-mcp-roles']).toBe('reader');
      expect(headers['x-mcp-scopes']).toBe('mcp:tools');
      expect(headers['x-mcp-extra']).toBeUndefined();
    }
    expect(upstream.sessions).toHaveLength(2);
  });
});

/** server-everything serving Streamable HTTP on a free port (it binds where `PORT` says, as a user would run it). */
async function startEverythingOverHttp(): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [EVERYTHING, 'streamableHttp'], {
    env: { PATH: process.env.PATH, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (output += chunk));
  cleanups.push(async () => {
    if (child.exitCode === null) {
      child.kill();
      await once(child, 'exit');
    }
  });
  await waitUntil(() => output.includes(`listening on port ${port}`) || child.exitCode !== null, 'server-everything listens');
  if (child.exitCode !== null) throw new Error(`server-everything exited: ${output}`);
  return { url: `http://127.0.0.1:${port}/mcp`, process: child };
}

describe('gateway over Streamable HTTP: @modelcontextprotocol/server-everything behind the whole OAuth flow', () => {
  it('the real SDK client signs in (both protocol revisions), calls a tool and reads a resource of the HTTP upstream', async () => {
    const everything = await startEverythingOverHttp();
    const port = await freePort();
    const resource = `http://127.0.0.1:${port}/mcp`;
    const auth = await startAuthServer({ RS_RESOURCE_URL: resource });
    await addUser(auth, 'alice');
    const rs = await startResourceServer({
      RS_PORT: String(port),
      RS_RESOURCE_URL: resource,
      AUTH_ISSUER: auth.url,
      MCP_UPSTREAM_URL: everything.url,
    });
    cleanups.push(async () => {
      await rs.close();
      await auth.close();
    });
    for (const kind of ['modern', 'v1'] as const) {
      const provider = new TestOAuthProvider({ redirectUrl: REDIRECT_URI });
      const connection = await connect(rs.mcpUrl, provider, signInAs({ username: 'alice', password: PASSWORD }, REDIRECT_URI), kind);
      cleanups.push(() => connection.close());
      const result = (await connection.client.callTool({ name: 'echo', arguments: { message: `over HTTP (${kind})` } })) as CallToolResult;
      expect(textOf(result)).toBe(`Echo: over HTTP (${kind})`);
      const client = connection.client as unknown as V2Client;
      const { resources } = await client.listResources();
      expect(resources.length).toBeGreaterThan(0);
      const read = await client.readResource({ uri: resources[0]!.uri });
      expect(read.contents[0]?.uri).toBe(resources[0]!.uri);
    }
  }, 30_000);
});

describe('gateway over Streamable HTTP with MCP_UPSTREAM_IDENTITY=jwt', () => {
  async function start(env: Record<string, string> = {}) {
    const issuer = await startTestIssuer();
    const upstream = await startRecordingUpstream();
    cleanups.push(async () => {
      await upstream.close();
      await issuer.close();
    });
    const rs = await startResourceServer({ AUTH_ISSUER: issuer.url, MCP_UPSTREAM_URL: upstream.url, MCP_UPSTREAM_IDENTITY: 'jwt', ...env });
    cleanups.push(() => rs.close());
    const token = await issuer.mint({ claims: { aud: rs.mcpUrl, sub: 'user-alice', scope: 'mcp:tools', roles: ['reader'] } });
    return { issuer, upstream, rs, token, jwksUrl: `${rs.url}/.well-known/upstream-jwks.json` };
  }

  it('the upstream verifies our short-lived JWT (sub, client_id, scope, roles) against the published JWKS; never the client token', async () => {
    const { upstream, rs, token, jwksUrl } = await start();
    upstream.requireJwt({ jwksUrl, issuer: rs.mcpUrl, audience: upstream.url });
    const client = await bearerClient(rs.mcpUrl, token);
    expect(textOf((await client.callTool({ name: 'echo', arguments: { text: 'hi' } })) as CallToolResult)).toBe('upstream says hi');
    expect(upstream.jwts.length).toBeGreaterThan(0);
    for (const jwt of upstream.jwts) {
      expect(jwt).toMatchObject({ sub: 'user-alice', scope: 'mcp:tools', roles: ['reader'], iss: rs.mcpUrl, aud: upstream.url });
      expect(jwt.client_id).toBeTruthy();
      expect(jwt.exp! - jwt.iat!).toBe(60);
    }
    for (const headers of upstream.requests) {
      expect(JSON.stringify(headers)).not.toContain(token);
      expect(headers['x-mcp-user-sub']).toBeUndefined();
    }
    const jwks = (await (await fetch(jwksUrl)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0]!.d).toBeUndefined();
  });

  it('an upstream expecting another audience refuses our JWT, and the client gets a clear JSON-RPC error', async () => {
    const { upstream, rs, token, jwksUrl } = await start();
    upstream.requireJwt({ jwksUrl, issuer: rs.mcpUrl, audience: 'https://another-upstream.example/mcp' });
    const client = new Client({ name: 'gateway-test', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(rs.mcpUrl), { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
    );
    cleanups.push(() => client.close());
    await expect(client.callTool({ name: 'echo', arguments: { text: 'hi' } })).rejects.toThrow(
      /upstream MCP server could not be reached \(HTTP 401\)/,
    );
    expect(upstream.jwts).toEqual([]);
  });

  it('MCP_UPSTREAM_AUDIENCE sets aud; a key from MCP_UPSTREAM_JWT_KEY_FILE is the one published', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const keyFile = join(dir, 'upstream-key.pem');
    writeFileSync(keyFile, await exportPKCS8(privateKey));
    const audience = 'urn:example:upstream';
    const { upstream, rs, token, jwksUrl } = await start({ MCP_UPSTREAM_AUDIENCE: audience, MCP_UPSTREAM_JWT_KEY_FILE: keyFile });
    upstream.requireJwt({ jwksUrl, issuer: rs.mcpUrl, audience });
    const client = await bearerClient(rs.mcpUrl, token);
    expect(textOf((await client.callTool({ name: 'echo', arguments: { text: 'ho' } })) as CallToolResult)).toBe('upstream says ho');
    const published = ((await (await fetch(jwksUrl)).json()) as { keys: Record<string, unknown>[] }).keys[0]!;
    expect(published.x).toBe((await exportJWK(publicKey)).x);
  });

  it('refuses a key file that is not a P-256 PKCS#8 key at start', async () => {
    const keyFile = join(dir, 'not-a-key.pem');
    writeFileSync(keyFile, 'not a key');
    const config = loadConfig({
      AUTH_ISSUER: 'http://127.0.0.1:1',
      MCP_UPSTREAM_URL: 'http://127.0.0.1:9/mcp',
      MCP_UPSTREAM_IDENTITY: 'jwt',
      MCP_UPSTREAM_JWT_KEY_FILE: keyFile,
    });
    await expect(configuredTools(config)).rejects.toThrow(/MCP_UPSTREAM_JWT_KEY_FILE: cannot use/);
  });

  it('publishes no upstream JWKS without MCP_UPSTREAM_IDENTITY=jwt', async () => {
    const issuer = await startTestIssuer();
    const rs = await startResourceServer({
      AUTH_ISSUER: issuer.url,
      MCP_UPSTREAM_URL: 'http://127.0.0.1:9/mcp',
      MCP_UPSTREAM_IDENTITY: 'headers',
    });
    cleanups.push(async () => {
      await rs.close();
      await issuer.close();
    });
    expect((await fetch(`${rs.url}/.well-known/upstream-jwks.json`)).status).toBe(404);
  });
});

describe('gateway configuration', () => {
  const base = { AUTH_ISSUER: 'http://127.0.0.1:1' };
  it('refuses both upstreams at once, a module beside an upstream, a bad args array and an identity that does not fit', () => {
    expect(() => loadConfig({ ...base, MCP_UPSTREAM_URL: 'http://127.0.0.1:9/mcp', MCP_UPSTREAM_COMMAND: 'x' })).toThrow(/not both/);
    expect(() => loadConfig({ ...base, MCP_UPSTREAM_COMMAND: 'x', MCP_TOOLS_MODULE: './t.ts' })).toThrow(/MCP_TOOLS_MODULE/);
    expect(() => loadConfig({ ...base, MCP_UPSTREAM_COMMAND: 'x', MCP_UPSTREAM_ARGS: '--stdio' })).toThrow(
      /MCP_UPSTREAM_ARGS: must be a JSON array/,
    );
    expect(() => loadConfig({ ...base, MCP_UPSTREAM_COMMAND: 'x', MCP_UPSTREAM_IDENTITY: 'headers' })).toThrow(/needs MCP_UPSTREAM_URL/);
    expect(() => loadConfig({ ...base, MCP_UPSTREAM_COMMAND: 'x', MCP_UPSTREAM_ENV: 'OK,not ok' })).toThrow(/MCP_UPSTREAM_ENV/);
    expect(() => loadConfig({ ...base, MCP_UPSTREAM_COMMAND: 'x', MCP_UPSTREAM_IDENTITY: 'jwt' })).toThrow(/jwt needs MCP_UPSTREAM_URL/);
    expect(() => loadConfig({ ...base, MCP_UPSTREAM_URL: 'http://127.0.0.1:9/mcp', MCP_UPSTREAM_AUDIENCE: 'x' })).toThrow(
      /MCP_UPSTREAM_AUDIENCE: only used with MCP_UPSTREAM_IDENTITY=jwt/,
    );
    expect(loadConfig({ ...base, MCP_UPSTREAM_URL: 'http://127.0.0.1:9/mcp', MCP_UPSTREAM_IDENTITY: 'jwt' }).upstreamAudience).toBe(
      'http://127.0.0.1:9/mcp',
    );
  });
});
