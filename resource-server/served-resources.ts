import { legacyMessagesUrl, legacySseUrl, loopbackAliases } from '../common/resource-urls.ts';
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
  /**
   * The resource a request is for, chosen by the Host it was sent to: in development a loopback
   * alias of the resource URL (localhost, 127.0.0.1, [::1]) is a resource of its own, so a client
   * on 127.0.0.1 gets metadata, challenges and token checks for the URL it called. Any other
   * Host (production, a load balancer's name, another port) gets the configured resource.
   */
  resolve(kind: EndpointKind, host: string): ServedResource;
}

/**
 * Derives every URL the resource server serves from its config: paths for the routes, the
 * resources, and (in development) their loopback aliases.
 *
 * ```ts source="./served-resources.examples.ts#servedResources"
 * const resources = servedResources(loadConfig({ RS_RESOURCE_URL: 'http://localhost:3001/mcp' }));
 * resources.resolve('sse', '127.0.0.1:3001').metadataUrl; // 'http://127.0.0.1:3001/.well-known/oauth-protected-resource/sse'
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
  const origins = new Map<string, string | null>();
  /** Origin of each loopback alias → its resources. */
  const aliases = new Map<string, Record<EndpointKind, ServedResource>>();
  if (config.nodeEnv !== 'production') {
    for (const alias of loopbackAliases(config.resourceUrl)) {
      aliases.set(new URL(alias).origin, { mcp: make('mcp', alias), sse: make('sse', legacySseUrl(alias)) });
    }
  }
  return {
    paths: {
      mcp: resource.pathname,
      sse: new URL(sseUrl).pathname,
      messages: new URL(legacyMessagesUrl(config.resourceUrl)).pathname,
      metadata,
    },
    canonical,
    resolve(kind, host) {
      if (aliases.size === 0) return canonical[kind];
      // Every request resolves its Host: remember the answer rather than parse a URL each time.
      // The Host comes from the client, so the memo is bounded (cleared when full).
      let origin = origins.get(host);
      if (origin === undefined) {
        origin = originOf(resource.protocol, host) ?? null;
        if (origins.size >= MAX_REMEMBERED_HOSTS) origins.clear();
        origins.set(host, origin);
      }
      return (origin && aliases.get(origin)?.[kind]) || canonical[kind];
    },
  };
}

/** Host headers whose origin is remembered (a handful in practice: the loopback aliases). */
const MAX_REMEMBERED_HOSTS = 64;

/** The origin a Host header names (normalised: case, default port), or undefined when it is not a host. */
function originOf(protocol: string, host: string): string | undefined {
  const candidate = `${protocol}//${host}`;
  if (!host || !URL.canParse(candidate)) return undefined;
  const url = new URL(candidate);
  // A Host with a path, credentials or the like is not a plain host[:port].
  return url.host === host.toLowerCase() || `${url.host}:${defaultPort(protocol)}` === host.toLowerCase() ? url.origin : undefined;
}

function defaultPort(protocol: string): string {
  return protocol === 'https:' ? '443' : '80';
}
