import type { IncomingMessage, ServerResponse } from 'node:http';

/** The SDK's own bounds: 4 MiB per body, 100 messages per batch. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
export const MAX_BATCH_SIZE = 100;

/** An HTTP answer carrying a JSON-RPC error (id null: the request could not be read). */
export class JsonRpcHttpError extends Error {
  readonly status: number;
  readonly code: number;
  /** JSON-RPC `error.data`: details a client can act on without parsing the message. */
  readonly data: Record<string, unknown> | undefined;

  constructor(status: number, code: number, message: string, data?: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.data = data;
  }

  get body(): { jsonrpc: '2.0'; error: { code: number; message: string; data?: Record<string, unknown> }; id: null } {
    return { jsonrpc: '2.0', error: { code: this.code, message: this.message, ...(this.data ? { data: this.data } : {}) }, id: null };
  }
}

/**
 * Reads and parses a JSON request body: 415 unless Content-Type is JSON, 413 past the limit,
 * 400 with JSON-RPC -32700 when it is not JSON. Never a 500 for what the client sent.
 *
 * ```ts source="./json-rpc.examples.ts#readJsonBody"
 * const body = await readJsonBody(ctx.req); // unknown: a message or a batch
 * ```
 */
export async function readJsonBody(req: IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new JsonRpcHttpError(415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) throw new JsonRpcHttpError(413, -32000, 'Payload Too Large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new JsonRpcHttpError(413, -32000, 'Payload Too Large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new JsonRpcHttpError(400, -32700, 'Parse error: Invalid JSON');
  }
}

/** Writes a JSON-RPC error straight to the Node response (for handlers that bypass Koa). */
export function writeJsonRpcError(res: ServerResponse, error: JsonRpcHttpError, headers: Record<string, string> = {}): void {
  res.writeHead(error.status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(error.body));
}

/** The names of the tools a body (single message or batch) calls. */
export function toolCallsIn(body: unknown): string[] {
  const messages = Array.isArray(body) ? body : [body];
  const names: string[] = [];
  for (const message of messages) {
    if (message && typeof message === 'object' && (message as { method?: unknown }).method === 'tools/call') {
      const name = (message as { params?: { name?: unknown } }).params?.name;
      if (typeof name === 'string') names.push(name);
    }
  }
  return names;
}

/** JSON-RPC methods in a body, for the access log. */
export function methodsIn(body: unknown): string[] {
  const messages = Array.isArray(body) ? body : [body];
  return messages.map((m) =>
    m && typeof m === 'object' && typeof (m as { method?: unknown }).method === 'string' ? (m as { method: string }).method : '?',
  );
}
