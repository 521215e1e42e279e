import { errors, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import type { ProtectedResourceConfig } from '../config.ts';
import { ALLOWED_RESOURCES } from './client-marks.ts';

type MaybeClient = { metadata(): Record<string, unknown> } | undefined;

/**
 * Per client object: `metadata()` snake-cases every property on each call (~20 µs, on every
 * token request). oidc-provider builds a new Client object whenever a client's stored
 * properties change (its cache is keyed by their hash), so a memo per object never goes stale.
 */
const allowedByClient = new WeakMap<object, string[] | undefined>();

/** The resources an operator restricted a client to (`npm run clients -- add --resource`); undefined: any. */
function allowedResources(client: MaybeClient): string[] | undefined {
  if (!client) return undefined;
  if (allowedByClient.has(client)) return allowedByClient.get(client);
  const allowed = client.metadata()[ALLOWED_RESOURCES];
  const resources = Array.isArray(allowed) ? (allowed as string[]) : undefined;
  allowedByClient.set(client, resources);
  return resources;
}

/**
 * The resource-indicator policy (RFC 8707) for oidc-provider's `features.resourceIndicators`:
 * known resources get ES256 JWT access tokens (RFC 9068) whose `aud` is the resource URL exactly.
 *
 * ```ts source="./resources.examples.ts#resourceIndicators"
 * const features = { resourceIndicators: { enabled: true, ...resourceIndicators(config.resources) } };
 * ```
 */
export function resourceIndicators(resources: ProtectedResourceConfig[]) {
  const byUrl = new Map(resources.map((r) => [r.url, r]));
  const fallback = resources[0];
  if (!fallback) throw new Error('at least one resource server must be configured');
  const resourceScopes = new Set(resources.flatMap((r) => r.scopes));

  return {
    /**
     * No `resource` parameter means the default MCP resource when the request names a resource
     * scope, or no scope at all (default-scope.ts then gives it the resource's defaults), so its
     * scopes are not lost. A request for OpenID Connect scopes only (`openid profile email`, an
     * app signing people in through us) is not for the MCP server: it gets no resource, and so
     * an access token for userinfo instead of an MCP-audience JWT.
     */
    async defaultResource(ctx: KoaContextWithOIDC, client: MaybeClient, oneOf?: string | string[]) {
      if (Array.isArray(oneOf)) return oneOf.find((url) => byUrl.has(url)) ?? oneOf[0]!;
      if (oneOf) return oneOf;
      // A restricted client's default is the first resource it may use, not one it may not.
      const allowed = allowedResources(client);
      const scope = ctx.oidc?.params?.scope;
      if (typeof scope === 'string' && scope.trim() !== '' && !scope.split(' ').some((s) => resourceScopes.has(s))) {
        return undefined as unknown as string;
      }
      if (allowed && !allowed.includes(fallback.url)) return allowed[0]!;
      return fallback.url;
    },
    /** An `openid` request without `resource` at /token still gets the resource's JWT. */
    async useGrantedResource() {
      return true;
    },
    async getResourceServerInfo(_ctx: KoaContextWithOIDC, indicator: string, client?: MaybeClient): Promise<ResourceServer> {
      const resource = byUrl.get(indicator);
      if (!resource) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
      const allowed = allowedResources(client);
      if (allowed && !allowed.includes(indicator)) throw new errors.InvalidTarget(`this client may not get tokens for ${indicator}`);
      return {
        scope: resource.scopes.join(' '),
        audience: resource.url,
        accessTokenTTL: resource.accessTokenTtl,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      };
    },
  };
}

/**
 * Maps a client's `resource` value onto a configured resource: exact match, or the same URL with
 * or without one trailing slash (the MCP SDK turns `http://h` into `http://h/`). Undefined when the
 * value names no configured resource.
 *
 * ```ts source="./resources.examples.ts#canonicalResource"
 * canonicalResource(['http://localhost:3001/mcp'], 'http://localhost:3001/mcp/'); // → 'http://localhost:3001/mcp'
 * ```
 */
export function canonicalResource(known: readonly string[], value: string): string | undefined {
  if (known.includes(value)) return value;
  const twin = value.endsWith('/') ? value.slice(0, -1) : `${value}/`;
  return known.includes(twin) ? twin : undefined;
}
