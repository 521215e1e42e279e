import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { isResourceServerClient } from './client-policy.ts';

type Client = NonNullable<KoaContextWithOIDC['oidc']['client']>;
interface Token {
  clientId?: string;
}

/**
 * `features.introspection.allowedPolicy` (RFC 7662 §2.1: the server decides who may learn what).
 * A public client learns nothing, not even about its own tokens: anyone can send its client_id.
 * A confidential client learns about its own tokens. Only the resource server's own client
 * (RESOURCE_SERVER, set by the operator) learns about every client's tokens, and not about those
 * of a client that is gone or disabled: those tokens are dead. Everyone else gets `{"active":false}`.
 *
 * ```ts source="./token-endpoint-policies.examples.ts#introspectionAllowed"
 * const configuration: Configuration = {
 *   features: { introspection: { enabled: true, allowedPolicy: introspectionAllowed } },
 * };
 * ```
 */
export async function introspectionAllowed(ctx: KoaContextWithOIDC, client: Client, token: Token): Promise<boolean> {
  if (client.clientAuthMethod === 'none') return false;
  if (token.clientId === client.clientId) return true;
  if (!isResourceServerClient(client)) return false;
  // oidc-provider reads the token's client after this policy and fails (500) when it is missing.
  return Boolean(token.clientId && (await ctx.oidc.provider.Client.find(token.clientId)));
}

/**
 * `features.revocation.allowedPolicy`: a client revokes its own tokens only (RFC 7009 §2.1). An
 * authenticated client is told it may not (invalid_request); a public client, which anyone can
 * name, gets the 200 an unknown token gets, so the endpoint tells strangers nothing about a token.
 *
 * ```ts source="./token-endpoint-policies.examples.ts#revocationAllowed"
 * const configuration: Configuration = {
 *   features: { revocation: { enabled: true, allowedPolicy: revocationAllowed } },
 * };
 * ```
 */
export async function revocationAllowed(_ctx: KoaContextWithOIDC, client: Client, token: Token): Promise<boolean> {
  if (token.clientId === client.clientId) return true;
  if (client.clientAuthMethod === 'none') return false;
  throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
}
