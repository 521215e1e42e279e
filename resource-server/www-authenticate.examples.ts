/** Type-checked examples for www-authenticate.ts (its JSDoc shows these regions). */
import { protectedResourceMetadataUrl } from './protected-resource-metadata.ts';
import { challengeHeader } from './www-authenticate.ts';

export function challengeHeaderExample() {
  //#region challengeHeader
  const prmUrl = protectedResourceMetadataUrl('http://localhost:3001/mcp');
  challengeHeader({ scheme: 'Bearer', resourceMetadata: prmUrl, scope: 'mcp:tools' });
  // Bearer resource_metadata="http://localhost:3001/.well-known/oauth-protected-resource/mcp", scope="mcp:tools"
  //#endregion challengeHeader
}
