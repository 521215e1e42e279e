import type Provider from 'oidc-provider';
import type { Logger } from '../../common/logger.ts';
import type { AuthServerConfig } from '../config.ts';
import type { ModelStore } from '../storage/store.ts';
import { buildOperatorClient, DISABLED, saveOperatorClient } from './operator-clients.ts';
import { TOKEN_EXCHANGE } from './token-exchange.ts';

/**
 * At start: creates or updates the resource server's own confidential client from
 * RS_CLIENT_ID/RS_CLIENT_SECRET, marked as the resource server (it may introspect every client's
 * tokens). No grant type for introspection alone; with the token vault on (an upstream with
 * storeTokens) it gets token exchange, and its resources (allowed_resources) are the resource
 * server's own, which is what the exchange checks a subject token's `aud` against. An operator's
 * `npm run clients -- disable` of it survives restarts. Without the pair, one warning says what is
 * off.
 *
 * ```ts source="./resource-server-client.examples.ts#provisionResourceServerClient"
 * await provisionResourceServerClient(provider, storage.models, config, logger);
 * ```
 */
export async function provisionResourceServerClient(
  provider: Provider,
  models: ModelStore,
  config: Pick<AuthServerConfig, 'resourceServerClient' | 'upstreams' | 'resourceServerResources'>,
  logger: Logger,
): Promise<void> {
  const rs = config.resourceServerClient;
  if (!rs) {
    if (config.upstreams.some((upstream) => upstream.storeTokens)) {
      logger.warn(
        'RS_CLIENT_ID/RS_CLIENT_SECRET are not set: upstream tokens are kept (storeTokens), but no resource server can exchange for them',
      );
    }
    logger.warn(
      "RS_CLIENT_ID/RS_CLIENT_SECRET are not set: the resource server has no client here, so nobody can introspect other clients' tokens",
    );
    return;
  }
  const vault = config.upstreams.some((upstream) => upstream.storeTokens);
  const existing = await models.find('Client', rs.clientId);
  const { payload } = buildOperatorClient(provider, {
    name: 'MCP resource server',
    clientId: rs.clientId,
    auth: { method: 'client_secret_basic', secret: rs.secret },
    ...(vault ? { grantTypes: [TOKEN_EXCHANGE], allowedResources: config.resourceServerResources } : { grantTypes: [] }),
    resourceServer: true,
  });
  // Instances starting together write the same row; keep its first issue date and an operator's disable.
  if (typeof existing?.client_id_issued_at === 'number') payload.client_id_issued_at = existing.client_id_issued_at;
  if (existing?.[DISABLED] === true) payload[DISABLED] = true;
  await saveOperatorClient(models, payload);
  logger.info({ clientId: rs.clientId }, 'resource server client ready');
}
