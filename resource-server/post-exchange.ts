import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  isInitializeRequest,
  parseJSONRPCMessage,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
  type JSONRPCNotification,
  type JSONRPCRequest,
  type JSONRPCResponse,
} from '@modelcontextprotocol/server';
import { JsonRpcHttpError, MAX_BATCH_SIZE } from './json-rpc.ts';

/**
 * How long an answer may stay silent before a keep-alive comment goes out (the SDK's interval):
 * proxies and load balancers cut a response that sends nothing for a minute or so.
 */
export const SSE_KEEP_ALIVE_MS = 15_000;
/** The keep-alive itself: an SSE comment, which clients skip. */
export const SSE_KEEP_ALIVE = ': keepalive\n\n';

/** Response headers of every SSE stream we open (the SDK's set; `no-transform` keeps proxies from buffering). */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const;

/**
 * The answer to one Streamable HTTP POST that carried requests, shared by our two transports
 * (stateless-transport.ts, session-transport.ts). While only responses come, they are held and
 * leave as ONE JSON body (a batch as an array) once the last is in: one write, one send. The
 * first message that must go before a response (a progress notification, a server-to-client
 * request during a tool call) turns the answer into an SSE stream, as the transport spec lets
 * the server choose; what was held goes first, the last response ends the stream.
 *
 * Why not the SDK's transport for this: it answers every POST as an SSE stream built from a
 * web-standard Request, ReadableStream and Response that @hono/node-server turns back into Node
 * writes, and parses every message again with zod. bench/FINDINGS.md has the profile.
 *
 * A request still running after `keepAliveMs` (a slow tool) gets its answer turned into SSE too,
 * with a keep-alive comment then and every `keepAliveMs` after: a JSON answer sends nothing until
 * it is complete, and a proxy would cut a silent response long before a minute-long tool ends.
 *
 * ```ts source="./post-exchange.examples.ts#PostExchange"
 * const exchange = new PostExchange(res, Array.isArray(body), 1);
 * exchange.event({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } });
 * exchange.respond({ jsonrpc: '2.0', id: 1, result: {} }); // the last response: the stream ends
 * ```
 */
export class PostExchange {
  readonly res: ServerResponse;
  readonly #batch: boolean;
  readonly #headers: Record<string, string>;
  #awaiting: number;
  #held: JSONRPCMessage[] = [];
  #streaming = false;
  readonly #keepAlive: NodeJS.Timeout;

  /**
   * @param awaiting how many responses the POST waits for (its requests)
   * @param headers extra response headers (Mcp-Session-Id)
   */
  constructor(
    res: ServerResponse,
    batch: boolean,
    awaiting: number,
    headers: Record<string, string> = {},
    keepAliveMs = SSE_KEEP_ALIVE_MS,
  ) {
    this.res = res;
    this.#batch = batch;
    this.#awaiting = awaiting;
    this.#headers = headers;
    this.#keepAlive = setInterval(() => this.#ping(), keepAliveMs).unref();
  }

  get done(): boolean {
    return this.#awaiting === 0;
  }

  /** A notification or request related to one of this POST's requests: it goes out now, as SSE. */
  event(message: JSONRPCMessage): void {
    if (this.done || this.res.writableEnded) return;
    this.#startStream(sseEvent(message));
  }

  /** One of the POST's responses (with the client's id); the last one sends the answer. */
  respond(message: JSONRPCMessage): void {
    if (this.done) return;
    this.#awaiting -= 1;
    if (this.done) clearInterval(this.#keepAlive);
    if (this.res.writableEnded) return;
    if (this.#streaming) {
      // The last event and the chunked terminator in one write.
      if (this.done) this.res.end(sseEvent(message));
      else this.res.write(sseEvent(message));
      return;
    }
    this.#held.push(message);
    if (!this.done) return;
    const payload = JSON.stringify(this.#batch ? this.#held : this.#held[0]);
    this.res.writeHead(200, { 'content-type': 'application/json', ...this.#headers }).end(payload);
  }

  /** Ends the answer without the responses still missing (the transport closes). */
  abort(): void {
    this.#awaiting = 0;
    clearInterval(this.#keepAlive);
    if (!this.res.writableEnded) this.res.end();
  }

  /** Writes `text` on the SSE stream, opening it first (with what was held) if need be. */
  #startStream(text: string): void {
    if (this.#streaming) {
      this.res.write(text);
      return;
    }
    this.#streaming = true;
    this.res.writeHead(200, { ...SSE_HEADERS, ...this.#headers });
    const held = this.#held;
    this.#held = [];
    this.res.write(held.map(sseEvent).join('') + text);
  }

  #ping(): void {
    if (this.done || this.res.writableEnded || this.res.destroyed) return void clearInterval(this.#keepAlive);
    this.#startStream(SSE_KEEP_ALIVE);
  }
}

/**
 * The request checks of the SDK's transport, answered the same way: Accept must name both
 * answer types (406), a Mcp-Protocol-Version header must be one we speak (400), a batch holds 1 to
 * MAX_BATCH_SIZE messages, and each must be JSON-RPC 2.0 (400). Returns the messages.
 */
export function validatePost(req: IncomingMessage, body: unknown): JSONRPCMessage[] {
  const accept = req.headers.accept ?? '';
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
    throw new JsonRpcHttpError(406, -32000, 'Not Acceptable: Client must accept both application/json and text/event-stream');
  }
  validateProtocolVersion(req);
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

/** After initialize a client sends the negotiated version; one we do not speak is a 400 (absent: the negotiated one). */
export function validateProtocolVersion(req: IncomingMessage): void {
  const version = req.headers['mcp-protocol-version'];
  if (typeof version === 'string' && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
    throw new JsonRpcHttpError(400, -32000, `Bad Request: Unsupported protocol version: ${version}`);
  }
}

/** One SSE event carrying a JSON-RPC message, as the SDK frames it. */
export function sseEvent(message: JSONRPCMessage): string {
  return `event: message\ndata: ${JSON.stringify(message)}\n\n`;
}

/*
 * What a message is, for messages already checked: parsed by validatePost or written by the SDK.
 * The SDK's own guards (isJSONRPCRequest and the like) each run a zod parse, and the transports
 * ask several per message: 2-3 % of a tools/call's CPU in the profile, for facts the parse that
 * admitted the message has settled.
 */

/** A request: a method and an id. */
export function isRequest(message: JSONRPCMessage): message is JSONRPCRequest {
  return 'method' in message && 'id' in message;
}

/** A notification: a method and no id. */
export function isNotification(message: JSONRPCMessage): message is JSONRPCNotification {
  return 'method' in message && !('id' in message);
}

/** A response (result or error) to a request. */
export function isResponse(message: JSONRPCMessage): message is JSONRPCResponse {
  return !('method' in message);
}

/** initialize, with params the SDK accepts (only then does the zod check run). */
export function isInitialize(message: JSONRPCMessage): boolean {
  return 'method' in message && message.method === 'initialize' && isInitializeRequest(message);
}
