/** Error codes of RFC 6750 §3.1 and RFC 9449 §7.1. */
export type AuthErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'invalid_dpop_proof';

export interface Challenge {
  scheme: 'Bearer' | 'DPoP';
  /** Omitted when the request had no credentials at all (RFC 6750 §3.1). */
  error?: AuthErrorCode;
  /** Short, fixed text: never echoes the token or anything else the client sent. */
  description?: string;
  /** Space separated scopes the request needs (for the client to ask for them). */
  scope?: string;
  /** RFC 9728 §5.1: where the client finds our Protected Resource Metadata. */
  resourceMetadata: string;
  /** RFC 9449 §7.1: the DPoP proof algorithms we accept. */
  algs?: readonly string[];
}

/**
 * Formats a WWW-Authenticate challenge. The Bearer scheme comes first in every challenge we
 * send, because the MCP SDK client reads parameters only from a header starting with "Bearer".
 *
 * ```ts source="./www-authenticate.examples.ts#challengeHeader"
 * const prmUrl = protectedResourceMetadataUrl('http://localhost:3001/mcp');
 * challengeHeader({ scheme: 'Bearer', resourceMetadata: prmUrl, scope: 'mcp:tools' });
 * // Bearer resource_metadata="http://localhost:3001/.well-known/oauth-protected-resource/mcp", scope="mcp:tools"
 * ```
 */
export function challengeHeader(challenge: Challenge): string {
  const params: [string, string][] = [];
  if (challenge.error) {
    params.push(['error', challenge.error]);
    if (challenge.description) params.push(['error_description', challenge.description]);
    if (challenge.scope) params.push(['scope', challenge.scope]);
    params.push(['resource_metadata', challenge.resourceMetadata]);
  } else {
    params.push(['resource_metadata', challenge.resourceMetadata]);
    if (challenge.scope) params.push(['scope', challenge.scope]);
  }
  if (challenge.algs) params.push(['algs', challenge.algs.join(' ')]);
  // quoted-string: drop the two characters that would need escaping rather than trust escaping.
  return `${challenge.scheme} ${params.map(([k, v]) => `${k}="${v.replace(/["\\]/g, '')}"`).join(', ')}`;
}
