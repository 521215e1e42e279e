/** Type-checked examples for require-token.ts (its JSDoc shows these regions). */
import Router from '@koa/router';
import type { Logger } from '../common/logger.ts';
import type { createBearerVerifier } from './bearer.ts';
import type { ResourceMetrics } from './metrics.ts';
import { createTokenGate, type TokenState } from './require-token.ts';
import type { ServedResources } from './served-resources.ts';

export function createTokenGateExample(
  router: Router,
  verify: ReturnType<typeof createBearerVerifier>,
  resources: ServedResources,
  metrics: ResourceMetrics,
  log: Logger,
) {
  //#region createTokenGate
  const gate = createTokenGate({ verify, resources, metrics, log, retryAfterSec: 5, challengeScopes: ['mcp:tools'] });
  router.post('/mcp', gate.requireToken('mcp'), (ctx) => {
    const { auth } = ctx.state as TokenState;
    ctx.body = { sub: auth.extra?.sub };
  });
  //#endregion createTokenGate
}
