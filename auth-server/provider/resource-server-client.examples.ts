/** Type-checked examples for resource-server-client.ts (its JSDoc shows these regions). */
import type Provider from 'oidc-provider';
import type { Logger } from '../../common/logger.ts';
import type { AuthServerConfig } from '../config.ts';
import type { Storage } from '../storage/store.ts';
import { provisionResourceServerClient } from './resource-server-client.ts';

export async function provisionResourceServerClientExample(provider: Provider, storage: Storage, config: AuthServerConfig, logger: Logger) {
  //#region provisionResourceServerClient
  await provisionResourceServerClient(provider, storage.models, config, logger);
  //#endregion provisionResourceServerClient
}
