import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo, JSONRPCMessage, RequestId, Transport } from '@modelcontextprotocol/server';
import { JsonRpcHttpError, writeJsonRpcError } from './json-rpc.ts';
import {
  isInitialize,
  isRequest,
  isResponse,
  PostExchange,
  SSE_HEADERS,
  SSE_KEEP_ALIVE,
  SSE_KEEP_ALIVE_MS,
  sseEvent,
  validatePost,
  validateProtocolVersion,
} from './post-exchange.ts';

/**
 * 2025-era Streamable HTTP with sessions: one transport per session, connected to that
 * session's McpServer (mcp-transport.ts makes both and keeps them in the session store, which
 * has already matched Mcp-Session-Id, subject and client before a request gets here).
 *
 * It does what the SDK's session transport does for us, without its cost (bench/FINDINGS.md):
 * - POST: requests are answered through a PostExchange (one JSON body, or SSE once a
 *   notification or a server-to-client request must go first); notifications and the client's
 *   responses to our requests (sampling, elicitation, roots) are taken with 202.
 * - GET: the session's one standalone SSE stream, for messages related to no request
 *   (list_changed, resources/updated); a second is 409, as in the SDK.
 * - DELETE: ends the session (200).
 * Ids are the client's own (one client per session), so `notifications/cancelled` passes
 * through. A POST whose client disconnects is not cancelled (the transport spec: disconnection
 * is not cancellation); its answer is dropped. There is no event store, so no resumption with
 * Last-Event-ID, as with the SDK transport we configured before.
 *
 * ```ts source="./session-transport.examples.ts#SessionHttpTransport"
 * const transport = new SessionHttpTransport(randomUUID());
 * await createMcpServer(registry).connect(transport);
 * transport.handle(req, res, body, authInfo); // the initialize POST, then every request of the session
 * ```
 */
export class SessionHttpTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  /** Read by the SDK (ctx.sessionId: per-session log levels, the gateway's upstream per session). */
  readonly sessionId: string;

  #initialized = false;
  #closed = false;
  /** A request in flight → the POST whose answer carries its response. */
  readonly #byRequest = new Map<RequestId, PostExchange>();
  #standalone: { res: ServerResponse; keepAlive: NodeJS.Timeout } | undefined;
  readonly #headers: Record<string, string>;
  readonly #keepAliveMs: number;

  /** @param options.keepAliveMs silence before a keep-alive comment on a stream (tests shorten it) */
  constructor(sessionId: string, options: { keepAliveMs?: number | undefined } = {}) {
    this.sessionId = sessionId;
    this.#headers = { 'mcp-session-id': sessionId };
    this.#keepAliveMs = options.keepAliveMs ?? SSE_KEEP_ALIVE_MS;
  }

  /** True once an initialize request has been taken: from then on the session exists. */
  get initialized(): boolean {
    return this.#initialized;
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const exchange of new Set(this.#byRequest.values())) exchange.abort();
    this.#byRequest.clear();
    this.#endStandalone();
    this.onclose?.();
  }

  async send(message: JSONRPCMessage, options?: { relatedRequestId?: RequestId }): Promise<void> {
    if (isResponse(message)) {
      // No exchange: its POST was closed by the client or by close(); no id: nothing to answer.
      const exchange = message.id === undefined ? undefined : this.#byRequest.get(message.id);
      if (!exchange) return;
      this.#byRequest.delete(message.id!);
      exchange.respond(message);
      return;
    }
    const related = options?.relatedRequestId;
    const exchange = related === undefined ? undefined : this.#byRequest.get(related);
    if (exchange) return exchange.event(message);
    // Related to no open request: the GET stream, if the client holds one; else it is dropped,
    // as the SDK does (a server request sent this way times out in the SDK's Protocol).
    this.#standalone?.res.write(sseEvent(message));
  }

  /** Serves one request of this session: the initialize POST, then POST, GET and DELETE. */
  handle(req: IncomingMessage, res: ServerResponse, body: unknown, authInfo: AuthInfo | undefined): void {
    try {
      if (this.#closed) throw new JsonRpcHttpError(404, -32001, 'Session not found');
      if (req.method === 'POST') return this.#post(req, res, body, authInfo);
      if (req.method === 'GET') return this.#get(req, res);
      if (req.method === 'DELETE') {
        validateProtocolVersion(req);
        res.writeHead(200, this.#headers).end();
        void this.close();
        return;
      }
      res.setHeader('allow', 'GET, POST, DELETE');
      throw new JsonRpcHttpError(405, -32000, 'Method not allowed.');
    } catch (error) {
      if (error instanceof JsonRpcHttpError) return writeJsonRpcError(res, error);
      throw error;
    }
  }

  #post(req: IncomingMessage, res: ServerResponse, body: unknown, authInfo: AuthInfo | undefined): void {
    const messages = validatePost(req, body);
    if (messages.some(isInitialize)) {
      if (this.#initialized) throw new JsonRpcHttpError(400, -32600, 'Invalid Request: Server already initialized');
      if (messages.length > 1) throw new JsonRpcHttpError(400, -32600, 'Invalid Request: Only one initialization request is allowed');
      this.#initialized = true;
    } else if (!this.#initialized) {
      throw new JsonRpcHttpError(400, -32000, 'Bad Request: Server not initialized');
    }
    const requests = messages.filter(isRequest);
    // One client per session, so its ids name its requests; one still in flight cannot be reused
    // (its answer would go to the wrong POST, and the SDK's Protocol tracks requests by id).
    for (const request of requests) {
      if (this.#byRequest.has(request.id)) {
        throw new JsonRpcHttpError(400, -32600, `Invalid Request: request id ${JSON.stringify(request.id)} is already in use`);
      }
    }
    if (requests.length === 0) {
      res.writeHead(202, this.#headers).end();
      for (const message of messages) this.onmessage?.(message, { authInfo });
      return;
    }
    const exchange = new PostExchange(res, Array.isArray(body), requests.length, this.#headers, this.#keepAliveMs);
    for (const request of requests) this.#byRequest.set(request.id, exchange);
    res.on('close', () => {
      if (exchange.done) return;
      for (const request of requests) if (this.#byRequest.get(request.id) === exchange) this.#byRequest.delete(request.id);
    });
    for (const message of messages) this.onmessage?.(message, { authInfo });
  }

  #get(req: IncomingMessage, res: ServerResponse): void {
    if (!(req.headers.accept ?? '').includes('text/event-stream')) {
      throw new JsonRpcHttpError(406, -32000, 'Not Acceptable: Client must accept text/event-stream');
    }
    validateProtocolVersion(req);
    if (!this.#initialized) throw new JsonRpcHttpError(400, -32000, 'Bad Request: Server not initialized');
    if (this.#standalone) throw new JsonRpcHttpError(409, -32000, 'Conflict: Only one SSE stream is allowed per session');
    res.writeHead(200, { ...SSE_HEADERS, ...this.#headers });
    res.flushHeaders();
    const keepAlive = setInterval(() => res.write(SSE_KEEP_ALIVE), this.#keepAliveMs).unref();
    const stream = { res, keepAlive };
    this.#standalone = stream;
    res.on('close', () => {
      clearInterval(keepAlive);
      if (this.#standalone === stream) this.#standalone = undefined;
    });
  }

  #endStandalone(): void {
    const stream = this.#standalone;
    if (!stream) return;
    this.#standalone = undefined;
    clearInterval(stream.keepAlive);
    stream.res.end();
  }
}
