/** What oidc-provider's `fetch` option receives and returns. */
export type FetchFunction = (url: string, options: RequestInit) => Promise<Response>;

/** Statuses whose responses have no body (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export class ResponseTooLargeError extends Error {
  constructor(url: string, limit: number) {
    super(`response body from ${url} exceeds ${limit} bytes`);
    this.name = 'ResponseTooLargeError';
  }
}

/**
 * Wraps a fetch so that no response body is ever read past `limit` bytes: a declared
 * Content-Length over the limit fails at once; otherwise reading stops (and the connection is
 * cancelled) at the first chunk past the limit, and the body's reader gets a
 * ResponseTooLargeError naming the URL and the limit.
 *
 * Why: oidc-provider reads a client's `jwks_uri` and `sector_identifier_uri` answers whole by
 * default (only metadata documents are capped, at 5 KiB); an 8 MiB answer was read into memory.
 *
 * ```ts source="./capped-fetch.examples.ts#cappedFetch"
 * const fetch = cappedFetch(globalThis.fetch, 64 * 1024);
 * ```
 */
export function cappedFetch(inner: FetchFunction, limit: number): FetchFunction {
  return async (url, options) => {
    const response = await inner(url, options);
    if (Number(response.headers.get('content-length')) > limit) {
      await response.body?.cancel();
      throw new ResponseTooLargeError(url, limit);
    }
    if (!response.body || NULL_BODY.has(response.status)) return response;
    const reader = response.body.getReader();
    let received = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        received += value.byteLength;
        if (received > limit) {
          await reader.cancel();
          return controller.error(new ResponseTooLargeError(url, limit));
        }
        controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
