/** Type-checked examples for revocation-feed.ts (its JSDoc shows these regions). */
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { Logger } from '../common/logger.ts';
import { createRevocationFeed } from './revocation-feed.ts';
import type { Secret } from './secret.ts';

export function createRevocationFeedExample(
  issuer: string,
  client: { id: string; secret: Secret },
  log: Logger,
  authInfo: AuthInfo,
  refuse: () => void,
) {
  //#region createRevocationFeed
  const feed = createRevocationFeed({ url: `${issuer}/revocations`, client, pollMs: 10_000, timeoutMs: 5_000, log });
  feed.start();
  if (feed.check(authInfo) === 'revoked') refuse();
  //#endregion createRevocationFeed
}
