/** Type-checked examples for upstream-client.ts (its JSDoc shows these regions). */
import { upstreamClient } from './upstream-client.ts';
import type { UpstreamProvider } from './upstream-config.ts';

export async function upstreamClientExample(provider: UpstreamProvider) {
  //#region upstreamClient
  const upstream = upstreamClient(provider, 'https://auth.example/upstream/google/callback');
  const { url, checks } = await upstream.start();
  //#endregion upstreamClient
}
