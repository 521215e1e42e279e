import Router from '@koa/router';
import type Provider from 'oidc-provider';
import { BodyError, oauthError, readForm } from '../provider/request-body.ts';
import type { RefusalStore, RevocationStore } from '../storage/store.ts';
import { parseRefusalReport, REFUSAL_REPORT_HEADER } from '../../common/refusal-report.ts';
import { introspectPersonalAccessToken, PAT_PREFIX, type PatContext } from './personal-access-tokens.ts';
import { authenticateResourceServer, checkResourceServer } from './resource-server-auth.ts';

/**
 * How far back (ms) before the reader's cursor a pull looks again. Entries are stamped with the
 * recording instance's clock and may commit a moment after a read that started later (PostgreSQL,
 * several instances), so an exact cursor could skip one; the reader merges repeats by type and id.
 */
export const FEED_OVERLAP_MS = 10_000;

const HOUR = 3_600_000;

export interface FeedRouteDeps {
  /** The provider serving requests now (a key rotation replaces it: provider/live-provider.ts). */
  provider: () => Provider;
  revocations: RevocationStore;
  /** Where the refusal reports that come with pulls are recorded (the admin dashboard reads them). */
  refusals: RefusalStore;
  pats: PatContext;
  /** The issuer's path ('' at the root). */
  prefix: string;
  now?: () => number;
}

/**
 * `GET /revocations?since=<cursor>`: the revocation feed, for resource servers only (their
 * client credentials in HTTP Basic, as at introspection). Answers `{ entries, cursor }`: every
 * live entry (`{ type, id, at, until }`, times in epoch ms) recorded since the cursor (all of
 * them without one), and the cursor for the next pull. Nobody else learns what was revoked: 401
 * without valid credentials, 403 for a client that is not a resource server.
 *
 * A pull may carry the resource server's token refusals since its last acknowledged report, in
 * the `Resource-Server-Refusals` header (common/refusal-report.ts). They ride on the feed because
 * the resource server already calls here on a timer with its own credentials: no new endpoint,
 * credential or shared database. Only an authenticated resource server's report is read, and it
 * is recorded under that client's id for the current hour before the feed answers: the 200 is
 * the acknowledgement, so the resource server subtracts the counts only when they are stored. A
 * malformed report (unknown kind, a count that is not a bounded whole number, too long) is 400
 * for that request only; nothing is recorded and the next pull is read as usual.
 *
 * `POST /token/introspection` for a personal access token: answered here (oidc-provider knows
 * nothing of PATs) when the caller is a resource server; for anyone else oidc-provider answers,
 * and for a token it does not know that is `{"active":false}`.
 */
export function revocationRoutes(deps: FeedRouteDeps): Router {
  const router = new Router();
  const now = deps.now ?? Date.now;

  router.get(`${deps.prefix}/revocations`, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const caller = await authenticateResourceServer(deps.provider(), ctx);
    if (caller.check === 'unauthenticated') {
      ctx.set('WWW-Authenticate', 'Basic realm="revocations"');
      return oauthError(ctx, 401, 'invalid_client', "the revocation feed needs a resource server's client credentials (HTTP Basic)");
    }
    if (caller.check !== 'resource-server')
      return oauthError(ctx, 403, 'unauthorized_client', 'only resource servers may read the revocation feed');
    const since = ctx.query.since;
    if (since !== undefined && (typeof since !== 'string' || !/^\d{1,16}$/.test(since))) {
      return oauthError(ctx, 400, 'invalid_request', 'since must be the cursor of an earlier answer (a number)');
    }
    const header = ctx.get(REFUSAL_REPORT_HEADER);
    if (header) {
      const report = parseRefusalReport(header);
      if ('error' in report)
        return oauthError(ctx, 400, 'invalid_request', `the ${REFUSAL_REPORT_HEADER} report is malformed: ${report.error}`);
      await deps.refusals.add(Math.floor(now() / HOUR) * HOUR, caller.clientId, report.counts);
    }
    const cursor = now();
    const from = since === undefined ? 0 : Math.max(0, Number(since) - FEED_OVERLAP_MS);
    ctx.body = { entries: await deps.revocations.recordedSince(from), cursor };
  });

  router.post(`${deps.prefix}/token/introspection`, async (ctx, next) => {
    let form;
    try {
      form = await readForm(ctx);
    } catch (error) {
      if (error instanceof BodyError) return oauthError(ctx, error.status, 'invalid_request', error.message);
      throw error;
    }
    const token = form.token;
    if (typeof token !== 'string' || !token.startsWith(PAT_PREFIX)) return next();
    if ((await checkResourceServer(deps.provider(), ctx)) !== 'resource-server') return next();
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await introspectPersonalAccessToken(deps.pats, token);
  });

  return router;
}
