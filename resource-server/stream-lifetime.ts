import type { ServerResponse } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { Logger } from '../common/logger.ts';
import type { RevocationFeed } from './revocation-feed.ts';

/** setTimeout's limit (~24.8 days); a later expiry is re-armed when this one fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface StreamLifetimeOptions {
  /** The revocation feed, when there is one: a stream ends once its token is revoked. */
  feed?: Pick<RevocationFeed, 'check' | 'onUpdate'> | undefined;
  log: Logger;
  /**
   * The skew the token gate allows past `exp` (RS_CLOCK_TOLERANCE_S): a stream lasts as long as
   * the gate would accept its token, else a client whose clock runs behind would be cut off and
   * let back in with the same token, over and over, until the tolerance ran out.
   */
  toleranceSec?: number;
  /** The clock (ms); tests inject one. */
  now?: () => number;
}

/**
 * Ends a long-lived event stream (a session's GET stream, the legacy /sse stream) when the token
 * that opened it expires or is revoked. Every POST shows its token again and is refused once it
 * is no good, but a stream showed its token once: without this, a stream opened with a token that
 * was revoked (a stolen laptop, a disabled account) or expired hours ago would go on carrying
 * the server's notifications (resources/updated, list changes) and the server's requests until
 * the client hung up. Ending it is what the client already handles: it reconnects, with a fresh
 * token, or is refused (401) and signs in again.
 *
 * Revocation is asked again after each feed pull that brought entries, so a stream ends within
 * one RS_REVOCATION_POLL_SECONDS of the revocation, like every other request. A stale feed
 * ('stale') does not end streams: it says nothing about this token.
 *
 * ```ts source="./stream-lifetime.examples.ts#streamLifetime"
 * const bindToToken = streamLifetime({ feed, log });
 * bindToToken(ctx.res, auth); // after the transport answered a GET with an event stream
 * ```
 */
export function streamLifetime(options: StreamLifetimeOptions) {
  const now = options.now ?? Date.now;
  const toleranceMs = (options.toleranceSec ?? 0) * 1000;
  return (res: ServerResponse, auth: AuthInfo): void => {
    if (res.writableEnded) return;
    let timer: NodeJS.Timeout | undefined;
    const end = (reason: 'expired' | 'revoked') => {
      if (res.writableEnded) return;
      options.log.info({ sub: auth.extra?.sub, client_id: auth.clientId, reason }, 'event stream ended: its token is no longer valid');
      res.end();
    };
    const arm = () => {
      if (auth.expiresAt === undefined) return;
      const left = auth.expiresAt * 1000 + toleranceMs - now();
      if (left <= 0) return end('expired');
      timer = setTimeout(left > MAX_TIMER_MS ? arm : () => end('expired'), Math.min(left, MAX_TIMER_MS));
      timer.unref();
    };
    arm();
    const feed = options.feed;
    const unsubscribe = feed?.onUpdate(() => {
      if (feed.check(auth) === 'revoked') end('revoked');
    });
    res.once('close', () => {
      clearTimeout(timer);
      unsubscribe?.();
    });
  };
}
