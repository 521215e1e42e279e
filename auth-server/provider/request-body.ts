import { parse as parseQuery, type ParsedUrlQuery } from 'node:querystring';
import type { Context } from 'koa';

/** oidc-provider's own limit for request bodies; we keep the same one. */
export const BODY_LIMIT = 56 * 1024;

export class BodyError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * Reads a request body once, bounded. oidc-provider then uses the parsed value we leave on
 * `ctx.request.body` (its documented fallback for upstream parsers).
 *
 * ```ts source="./request-body.examples.ts#readForm"
 * const form = await readForm(ctx); // → { grant_type: 'refresh_token', resource: [...] }
 * ```
 */
export async function readForm(ctx: Context): Promise<ParsedUrlQuery> {
  const form = parseQuery(await readText(ctx));
  setParsedBody(ctx, form);
  return form;
}

/** Like readForm, for JSON objects (registration). */
export async function readJsonObject(ctx: Context): Promise<Record<string, unknown>> {
  const text = await readText(ctx);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BodyError(400, 'failed to parse the request body as JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BodyError(400, 'the request body must be a JSON object');
  }
  setParsedBody(ctx, value);
  return value as Record<string, unknown>;
}

function setParsedBody(ctx: Context, body: unknown): void {
  (ctx.request as unknown as { body: unknown }).body = body;
}

async function readText(ctx: Context): Promise<string> {
  const declared = ctx.request.length;
  if (declared !== undefined && declared > BODY_LIMIT) throw tooLarge(ctx);
  const chunks: Buffer[] = [];
  let received = 0;
  // destroyOnReturn: false — leaving the loop early must not destroy the request: that takes the
  // socket with it, and the 413 (and the request log's ctx.ip) would meet a closed connection.
  for await (const chunk of ctx.req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > BODY_LIMIT) throw tooLarge(ctx);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, received).toString('utf8');
}

/**
 * The rest of an oversized body stays unread, so the connection cannot carry another request:
 * `Connection: close` makes Node close it once the 413 is sent instead of reading on.
 */
function tooLarge(ctx: Context): BodyError {
  ctx.set('Connection', 'close');
  return new BodyError(413, 'request body too large');
}

/** Answers with the OAuth error JSON shape (RFC 6749 §5.2). */
export function oauthError(ctx: Context, status: number, error: string, description: string): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error, error_description: description };
}
