import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo, JSONRPCMessage, RequestId, Transport } from '@modelcontextprotocol/server';
import { JsonRpcHttpError, writeJsonRpcError } from './json-rpc.ts';
import { isNotification, isRequest, isResponse, PostExchange, validatePost } from './post-exchange.ts';

/** A request in flight: the POST that carried it and the id its client chose. */
interface Pending {
  exchange: PostExchange;
  clientId: RequestId;
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
  readonly #keepAliveMs: number | undefined;
  /** Our internal request id → where its response goes. */
  readonly #byRequest = new Map<number, Pending>();
  readonly #open = new Set<PostExchange>();

  /** @param options.keepAliveMs silence before a keep-alive comment on an answer (tests shorten it) */
  constructor(options: { keepAliveMs?: number | undefined } = {}) {
    this.#keepAliveMs = options.keepAliveMs;
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    for (const exchange of this.#open) exchange.abort();
    this.#open.clear();
    this.#byRequest.clear();
    this.onclose?.();
  }

  async send(message: JSONRPCMessage, options?: { relatedRequestId?: RequestId }): Promise<void> {
    const response = isResponse(message);
    const internalId = response ? message.id : options?.relatedRequestId;
    // Without a related request there is nowhere to send it: no standalone stream when stateless.
    const pending = typeof internalId === 'number' ? this.#byRequest.get(internalId) : undefined;
    if (!pending) return;
    if (!response) {
      // Server-to-client requests need the answer in a later POST, which stateless cannot route.
      if (!isRequest(message)) pending.exchange.event(message);
      return;
    }
    this.#byRequest.delete(internalId as number);
    pending.exchange.respond({ ...message, id: pending.clientId } as JSONRPCMessage);
    if (pending.exchange.done) this.#open.delete(pending.exchange);
  }

  /** Serves one POST whose body was already parsed (and authorized). */
  handle(req: IncomingMessage, res: ServerResponse, body: unknown, authInfo: AuthInfo | undefined): void {
    let messages: JSONRPCMessage[];
    try {
      messages = validatePost(req, body);
    } catch (error) {
      if (error instanceof JsonRpcHttpError) return writeJsonRpcError(res, error);
      throw error;
    }
    const requests = messages.filter(isRequest);
    // notifications/cancelled names another request by id; ids are ours now, and a client must
    // not cancel someone else's request, so cancellation is by closing the HTTP request instead.
    const notifications = messages.filter((m) => isNotification(m) && m.method !== 'notifications/cancelled');
    for (const notification of notifications) this.onmessage?.(notification, { authInfo });
    if (requests.length === 0) {
      res.writeHead(202).end();
      return;
    }
    const exchange = new PostExchange(res, Array.isArray(body), requests.length, {}, this.#keepAliveMs);
    const ours: number[] = [];
    const dispatch: JSONRPCMessage[] = [];
    for (const request of requests) {
      const internalId = ++this.#nextId;
      ours.push(internalId);
      this.#byRequest.set(internalId, { exchange, clientId: request.id });
      dispatch.push({ ...request, id: internalId });
    }
    this.#open.add(exchange);
    res.on('close', () => this.#abandon(exchange, ours));
    for (const request of dispatch) this.onmessage?.(request, { authInfo });
  }

  /** The client went away: cancel what is still running so tools stop (their signal aborts). */
  #abandon(exchange: PostExchange, ids: number[]): void {
    this.#open.delete(exchange);
    for (const internalId of ids) {
      if (!this.#byRequest.delete(internalId)) continue;
      this.onmessage?.({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: internalId, reason: 'client disconnected' },
      });
    }
  }
}
