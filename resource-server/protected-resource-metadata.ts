import type { ResourceServerConfig } from './config.ts';
import { DPOP_ALGORITHMS } from './dpop.ts';
import { AUTHORIZATION_SERVER_SCOPES } from './scopes.ts';

/** RFC 9728 §2 metadata of this resource. */
export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported: string[];
  bearer_methods_supported: ['header'];
  resource_name: string;
  resource_documentation: string;
  dpop_signing_alg_values_supported: string[];
}

/**
 * One pure function from config to metadata (oidc-provider's discovery style).
 * offline_access is never published (SEP-2207): it is an authorization-server scope, not ours.
 *
 * ```ts source="./protected-resource-metadata.examples.ts#protectedResourceMetadata"
 * protectedResourceMetadata(config, demoTools.scopes).resource === config.resourceUrl; // true
 * ```
 */
export function protectedResourceMetadata(
  config: Pick<ResourceServerConfig, 'resourceUrl' | 'issuer' | 'resourceName' | 'resourceDocumentation'>,
  scopes: readonly string[],
): ProtectedResourceMetadata {
  return {
    resource: config.resourceUrl,
    authorization_servers: [config.issuer],
    scopes_supported: scopes.filter((scope) => !AUTHORIZATION_SERVER_SCOPES.has(scope)),
    bearer_methods_supported: ['header'],
    resource_name: config.resourceName,
    resource_documentation: config.resourceDocumentation,
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
  };
}

/**
 * RFC 9728 §3.1: the metadata URL inserts /.well-known/oauth-protected-resource between the
 * resource's origin and its path: http://h/mcp → http://h/.well-known/oauth-protected-resource/mcp.
 */
export function protectedResourceMetadataUrl(resourceUrl: string): string {
  const url = new URL(resourceUrl);
  return new URL(`/.well-known/oauth-protected-resource${url.pathname === '/' ? '' : url.pathname}`, url.origin).href;
}
