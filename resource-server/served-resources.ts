import { legacyMessagesUrl, legacySseUrl } from '../common/resource-urls.ts';
import type { ResourceServerConfig } from './config.ts';
import { protectedResourceMetadataUrl } from './protected-resource-metadata.ts';

/**
 * The two endpoints, each a resource of its own (RFC 8707 / RFC 9728): `mcp` is the Streamable
 * HTTP endpoint (RS_RESOURCE_URL), `sse` the legacy HTTP+SSE pair (/sse and /messages).
 */
export type EndpointKind = 'mcp' | 'sse';

/** One resource this server answers for: the token audience and where its metadata lives. */
export interface ServedResource {
  kind: EndpointKind;
  /** The resource identifier: `resource` in its metadata, the `aud` a token must carry. */
  url: string;
  /** RFC 9728 §3.1 metadata URL, named in every 401 challenge for this resource. */
  metadataUrl: string;
}

export interface ServedResources {
  /** The paths the routes are mounted at (from RS_RESOURCE_URL). */
  paths: { mcp: string; sse: string; messages: string; metadata: ReadonlyMap<string, EndpointKind> };
  /** The configured resources (RS_RESOURCE_URL and its /sse sibling). */
  canonical: Readonly<Record<EndpointKind, ServedResource>>;
  /** The resource a request to this kind of endpoint on `host` is for. */
  resolve(kind: EndpointKind, host: string): ServedResource;
}

/**
 * Derives every URL the resource server serves from its config: paths for the routes and the
 * resources.
 *
 * ```ts source="./served-resources.examples.ts#servedResources"
 * const resources = servedResources(loadConfig({ RS_RESOURCE_URL: 'http://localhost:3001/mcp' }));
 * resources.resolve('mcp', 'localhost:3001').metadataUrl; // 'http://localhost:3001/.well-known/oauth-protected-resource/mcp'
 * ```
 */
export function servedResources(config: Pick<ResourceServerConfig, 'resourceUrl' | 'nodeEnv'>): ServedResources {
  const resource = new URL(config.resourceUrl);
  const sseUrl = legacySseUrl(config.resourceUrl);
  const make = (kind: EndpointKind, url: string): ServedResource => ({ kind, url, metadataUrl: protectedResourceMetadataUrl(url) });
  const canonical = { mcp: make('mcp', config.resourceUrl), sse: make('sse', sseUrl) };
  const metadata = new Map<string, EndpointKind>([
    [new URL(canonical.mcp.metadataUrl).pathname, 'mcp'],
    [new URL(canonical.sse.metadataUrl).pathname, 'sse'],
    // The root form, for clients that look there first: the primary (Streamable HTTP) resource.
    ['/.well-known/oauth-protected-resource', 'mcp'],
  ]);
  return {
    paths: { mcp: resource.pathname, sse: new URL(sseUrl).pathname, messages: new URL(legacyMessagesUrl(config.resourceUrl)).pathname, metadata },
    canonical,
    resolve(kind) {
      return canonical[kind];
    },
  };
}
