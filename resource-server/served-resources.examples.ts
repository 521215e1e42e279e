/** Type-checked examples for served-resources.ts (its JSDoc shows these regions). */
import { loadConfig } from './config.ts';
import { servedResources } from './served-resources.ts';

export function servedResourcesExample() {
  //#region servedResources
  const resources = servedResources(loadConfig({ RS_RESOURCE_URL: 'http://localhost:3001/mcp' }));
  resources.resolve('sse', '127.0.0.1:3001').metadataUrl; // 'http://127.0.0.1:3001/.well-known/oauth-protected-resource/sse'
  //#endregion servedResources
}
