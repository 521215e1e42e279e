import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  parseJSONRPCMessage,
  SUPPORTED_PROTOCOL_VERSIONS,
  type AuthInfo,
  type JSONRPCMessage,
  type RequestId,
  type Transport,
} from '@modelcontextprotocol/server';
import { JsonRpcHttpError, MAX_BATCH_SIZE, writeJsonRpcError } from './json-rpc.ts';

/** One HTTP POST and the requests it carries. */
interface Exchange {
  res: ServerResponse;
  batch: boolean;
  /** Our internal request id → the id the client chose. */
  pending: Map<number, RequestId>;
  /** Responses held back while the answer can still be a single JSON body. */
  buffered: JSONRPCMessage[];
  streaming: boolean;
}

/**
 * 2025-era Streamable HTTP without sessions (MCP_STATELESS), served by ONE McpServer for the
 * whole process. 2026-07-28 requests never come here (modern-entry.ts serves them).
 *
 * Why not the SDK's transport: with `sessionIdGenerator: undefined` it refuses a second request
 * ("Stateless transport cannot be reused"), and an McpServer can be connected to one transport
 * at a time, so the SDK's stateless example builds a server, its tools and a transport for every
 * request. This transport is connected once and multiplexes: each incoming request gets a
 * process-unique id (clients' ids collide with each other), and responses and related
 * notifications are routed back to the HTTP exchange that carried the request, with the client's
 * id restored. The answer is one JSON body unless the server sends a notification (progress)
 * first, then it becomes an SSE stream, as the transport spec allows.
 *
 * Kept after the move to SDK v2 because it is still faster: against the same process (auth off,
 * 8 connections, greet), 1,770–1,869 req/s here against 465–572 req/s through the SDK's
 * per-request createMcpHandler path (new McpServer per request), and 2,300–2,500 req per server
 * CPU-second against 833–1,284 for the SDK's stateless example in `npm run bench -- resource`.
 *
 * Stateless means: no GET stream and no DELETE (405), client responses are dropped (a server
 * request could never be answered in a later POST safely), and cancellation happens when the
 * client closes the HTTP request.
 *
 * ```ts source="./stateless-transport.examples.ts#StatelessHttpTransport"
 * const transport = new StatelessHttpTransport();
 * await createMcpServer(registry).connect(transport);
 * transport.handle(ctx.req, ctx.res, body, authInfo);
 * ```
 */
export class StatelessHttpTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;

  #nextId = 0;
  readonly #byRequest = new Map<number, Exchange>();
  readonly #open = new Set<Exchange>();

  async start(): Promise<void> {}

  async close(): Promise<void> {
    for (const exchange of this.#open) exchange.res.end();
    this.#open.clear();
    this.#byRequest.clear();
    this.onclose?.();
  }

  async send(message: JSONRPCMessage, options?: { relatedRequestId?: RequestId }): Promise<void> {
    const isResponse = isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message);
    const internalId = isResponse ? message.id : options?.relatedRequestId;
    // Without a related request there is nowhere to send it: no standalone stream when stateless.
    const exchange = typeof internalId === 'number' ? this.#byRequest.get(internalId) : undefined;
    if (!exchange || internalId === undefined) return;
    if (!isResponse) {
      // Server-to-client requests need the answer in a later POST, which stateless cannot route.
      if (isJSONRPCRequest(message)) return;
      this.#startStream(exchange);
      writeEvent(exchange.res, message);
      return;
    }
    const clientId = exchange.pending.get(internalId as number)!;
    exchange.pending.delete(internalId as number);
    this.#byRequest.delete(internalId as number);
    const restored = { ...message, id: clientId } as JSONRPCMessage;
    if (exchange.streaming) writeEvent(exchange.res, restored);
    else exchange.buffered.push(restored);
    if (exchange.pending.size === 0) this.#finish(exchange);
  }

  /** Serves one POST whose body was already parsed (and authorized). */
  handle(req: IncomingMessage, res: ServerResponse, body: unknown, authInfo: AuthInfo | undefined): void {
    let messages: JSONRPCMessage[];
    try {
      messages = validate(req, body);
    } catch (error) {
      if (error instanceof JsonRpcHttpError) return writeJsonRpcError(res, error);
      throw error;
    }
    const requests = messages.filter(isJSONRPCRequest);
    // notifications/cancelled names another request by id; ids are ours now, and a client must
    // not cancel someone else's request, so cancellation is by closing the HTTP request instead.
    const notifications = messages.filter((m) => isJSONRPCNotification(m) && m.method !== 'notifications/cancelled');
    for (const notification of notifications) this.onmessage?.(notification, { authInfo });
    if (requests.length === 0) {
      res.writeHead(202).end();
      return;
    }
    const exchange: Exchange = { res, batch: Array.isArray(body), pending: new Map(), buffered: [], streaming: false };
    const dispatch: JSONRPCMessage[] = [];
    for (const request of requests) {
      const internalId = ++this.#nextId;
      exchange.pending.set(internalId, request.id);
      this.#byRequest.set(internalId, exchange);
      dispatch.push({ ...request, id: internalId });
    }
    this.#open.add(exchange);
    res.on('close', () => this.#abandon(exchange));
    for (const request of dispatch) this.onmessage?.(request, { authInfo });
  }

  #startStream(exchange: Exchange): void {
    if (exchange.streaming) return;
    exchange.streaming = true;
    exchange.res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    for (const message of exchange.buffered) writeEvent(exchange.res, message);
    exchange.buffered = [];
  }

  #finish(exchange: Exchange): void {
    this.#open.delete(exchange);
    if (exchange.streaming) {
      exchange.res.end();
      return;
    }
    const payload = JSON.stringify(exchange.batch ? exchange.buffered : exchange.buffered[0]);
    exchange.res.writeHead(200, { 'content-type': 'application/json' }).end(payload);
  }

  /** The client went away: cancel what is still running so tools stop (their signal aborts). */
  #abandon(exchange: Exchange): void {
    this.#open.delete(exchange);
    for (const internalId of exchange.pending.keys()) {
      this.#byRequest.delete(internalId);
      this.onmessage?.({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: internalId, reason: 'client disconnected' },
      });
    }
    exchange.pending.clear();
  }
}

/** The same request checks as the SDK's transport, answered the same way. */
function validate(req: IncomingMessage, body: unknown): JSONRPCMessage[] {
  const accept = req.headers.accept ?? '';
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
    throw new JsonRpcHttpError(406, -32000, 'Not Acceptable: Client must accept both application/json and text/event-stream');
  }
  const version = req.headers['mcp-protocol-version'];
  if (typeof version === 'string' && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
    throw new JsonRpcHttpError(400, -32000, `Bad Request: Unsupported protocol version: ${version}`);
  }
  const raw = Array.isArray(body) ? body : [body];
  if (raw.length === 0 || raw.length > MAX_BATCH_SIZE) throw new JsonRpcHttpError(400, -32600, 'Invalid Request: bad batch size');
  return raw.map((message) => {
    try {
      return parseJSONRPCMessage(message);
    } catch {
      throw new JsonRpcHttpError(400, -32600, 'Invalid Request: not a JSON-RPC 2.0 message');
    }
  });
}

function writeEvent(res: ServerResponse, message: JSONRPCMessage): void {
  res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
}
