import type { ServerResponse } from 'node:http';

/**
 * Holds what a response writes to its socket until the current turn of the event loop ends
 * (setImmediate), then sends it in one go. The SDK's session transport answers a POST through
 * @hono/node-server as an SSE stream: the headers (flushed on their own), the event and the
 * chunked terminator each reach the socket in a different microtask, so a one-event answer
 * costs three send syscalls where the stateless transport makes one. Held for a turn, they
 * leave as one writev. A long stream (progress events, a slow tool) still flushes every turn,
 * so nothing waits longer than the work already queued.
 *
 * ```ts source="./coalesced-writes.examples.ts#coalesceWrites"
 * coalesceWrites(res);
 * await transport.handleRequest(req, res, body);
 * ```
 */
export function coalesceWrites(res: ServerResponse): void {
  const socket = res.socket;
  if (!socket) return;
  let held = false;
  const release = () => {
    held = false;
    socket.uncork();
  };
  const hold = () => {
    if (held || socket.destroyed) return;
    held = true;
    socket.cork();
    setImmediate(release);
  };
  const original = { write: res.write, end: res.end, flushHeaders: res.flushHeaders };
  res.write = function (this: ServerResponse, ...args: unknown[]) {
    hold();
    return (original.write as (...a: unknown[]) => boolean).apply(this, args);
  } as ServerResponse['write'];
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    hold();
    return (original.end as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['end'];
  res.flushHeaders = function (this: ServerResponse) {
    hold();
    original.flushHeaders.call(this);
  };
}
