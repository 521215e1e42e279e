/** Type-checked examples for protected-resource-metadata.ts (its JSDoc shows these regions). */
import type { ResourceServerConfig } from './config.ts';
import { protectedResourceMetadata } from './protected-resource-metadata.ts';
import { demoTools } from './tools/index.ts';

export function protectedResourceMetadataExample(config: ResourceServerConfig) {
  //#region protectedResourceMetadata
  protectedResourceMetadata(config, demoTools.scopes).resource === config.resourceUrl; // true
  //#endregion protectedResourceMetadata
}
