import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Writable } from 'node:stream';
import { listen } from '../../common/http-server.ts';
import { createLogger } from '../../common/logger.ts';
import { createResourceServer, type ResourceServer } from '../app.ts';
import { loadConfig, type ResourceServerConfig } from '../config.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import { configuredTools } from '../tools-module.ts';
import { freePort } from '../../common/free-port.ts';

export interface RunningResourceServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The resource URL (the MCP endpoint): `aud` of valid tokens. */
  mcpUrl: string;
  config: ResourceServerConfig;
  /** Every log line written so far (JSON), when started with `{ captureLogs: true }`. */
  logs: string[];
  /** Its revocation feed, with RS_CLIENT_ID (`pull()` now rather than on the poll). */
  revocationFeed: ResourceServer['revocationFeed'];
  close(): Promise<void>;
}

/**
 * Starts the real resource server in-process on a free loopback port, configured through the
 * same loadConfig as production (so the resource URL names the real port); `tools` replaces the
 * demo tools.
 */
export async function startResourceServer(
  env: Record<string, string>,
  options: { captureLogs?: boolean; tools?: ToolRegistry; sseKeepAliveMs?: number } = {},
): Promise<RunningResourceServer> {
  const port = await freePort();
  const config = loadConfig({
    RS_PORT: String(port),
    RS_HOST: '127.0.0.1',
    RS_RESOURCE_URL: `http://127.0.0.1:${port}/mcp`,
    LOG_LEVEL: 'silent',
    NODE_ENV: 'test',
    ...env,
  });
  const logs: string[] = [];
  const logger = options.captureLogs
    ? createLogger(
        { name: 'resource-server', level: 'debug', pretty: false },
        new Writable({
          write(chunk, _enc, done) {
            logs.push(String(chunk));
            done();
          },
        }),
      )
    : createLogger({ name: 'resource-server', level: 'silent', pretty: false });
  const tools = options.tools ?? (await configuredTools(config));
  const resourceServer = createResourceServer(config, {
    logger,
    ...(tools ? { tools } : {}),
    ...(options.sseKeepAliveMs ? { sseKeepAliveMs: options.sseKeepAliveMs } : {}),
  });
  const http = await listen(resourceServer.app, config.port, config.host);
  return {
    url: http.url,
    mcpUrl: config.resourceUrl,
    config,
    logs,
    revocationFeed: resourceServer.revocationFeed,
    async close() {
      const stopped = http.close();
      await resourceServer.close();
      // Tests end with nothing in flight; lingering keep-alive sockets of the SDK clients would
      // otherwise hold the close for seconds.
      http.closeAllConnections();
      await stopped;
    },
  };
}

/** Headers of a well-formed MCP POST. */
export const MCP_POST_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

export const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'test', version: '1' } },
};

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Drops the connection (ends an SSE stream, so its session closes). */
  close(): void;
}

/**
 * An HTTP request from a chosen loopback address (Linux accepts any 127.0.0.0/8 source), so a
 * test can be several client IPs without a proxy. With `stream: true` it resolves at the headers
 * and leaves the response open (an SSE stream never ends by itself) until `close()`.
 */
export function requestFrom(
  localAddress: string,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; stream?: boolean } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: init.method ?? 'POST', localAddress, headers: { ...MCP_POST_HEADERS, ...init.headers } },
      (res) => {
        const close = () => void res.destroy();
        if (init.stream && res.statusCode === 200) {
          res.resume();
          resolve({ status: res.statusCode, headers: res.headers, body: '', close });
          return;
        }
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (d: string) => (body += d))
          .on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, close }));
      },
    );
    req.on('error', reject);
    req.end(init.body === undefined ? undefined : JSON.stringify(init.body));
  });
}

/** The 2026-07-28 revision: every request names it (and the client) in `_meta`; there is no session. */
export const MODERN_PROTOCOL = '2026-07-28';

/** One raw 2026-07-28 JSON-RPC request, with the `_meta` envelope and the standard headers. */
export function postModern(url: string, method: string, params: Record<string, unknown>, headers: Record<string, string> = {}) {
  const meta = {
    'io.modelcontextprotocol/protocolVersion': MODERN_PROTOCOL,
    'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
    'io.modelcontextprotocol/clientCapabilities': {},
  };
  return fetch(url, {
    method: 'POST',
    headers: { ...MCP_POST_HEADERS, 'mcp-protocol-version': MODERN_PROTOCOL, 'mcp-method': method, ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: meta } }),
  });
}

/** The JSON-RPC answer of a response that is either one JSON body or an SSE stream. */
export async function jsonRpcAnswer(response: Response): Promise<{ result: Record<string, unknown> }> {
  const text = await response.text();
  const json = text.startsWith('{')
    ? text
    : text
        .split('\n')
        .find((line) => line.startsWith('data: '))!
        .slice(6);
  return JSON.parse(json) as { result: Record<string, unknown> };
}

/**
 * Reads an event stream in the background: `ended` turns true when the server ends it, and
 * `done` settles then. A stream cut because the test's own server closes is not an end the server
 * chose: `ended` stays false.
 */
export function watchStream(response: Response): { readonly ended: boolean; done: Promise<void> } {
  const state = { ended: false, done: Promise.resolve() };
  state.done = (async () => {
    const reader = response.body!.getReader();
    while (!(await reader.read()).done);
    state.ended = true;
  })().catch(() => undefined);
  return state;
}
