/** Type-checked examples for stream-lifetime.ts (its JSDoc shows these regions). */
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { Context } from 'koa';
import type { Logger } from '../common/logger.ts';
import type { RevocationFeed } from './revocation-feed.ts';
import { streamLifetime } from './stream-lifetime.ts';

export function streamLifetimeExample(ctx: Context, feed: RevocationFeed, log: Logger, auth: AuthInfo) {
  //#region streamLifetime
  const bindToToken = streamLifetime({ feed, log });
  bindToToken(ctx.res, auth); // after the transport answered a GET with an event stream
  //#endregion streamLifetime
}
