/** Type-checked examples for upstream-profile.ts (its JSDoc shows these regions). */
import { Secret } from '../secret.ts';
import { demoTools } from './index.ts';
import { createToolRegistry } from './registry.ts';
import { upstreamProfile } from './upstream-profile.ts';

export function upstreamProfileExample() {
  //#region upstreamProfile
  const tools = createToolRegistry([
    ...demoTools.tools,
    upstreamProfile({
      issuer: 'https://auth.example',
      client: { id: 'mcp-resource-server', secret: new Secret(process.env.RS_CLIENT_SECRET!) },
      upstreams: [{ id: 'github', url: 'https://api.github.com/user' }],
    }),
  ]);
  //#endregion upstreamProfile
  return tools;
}
