import type { Client } from 'oidc-provider';

export interface ClientDisplay {
  id: string;
  name: string;
  /** Registered by itself (DCR) or identified by URL (CIMD): nobody vouched for its name. */
  unverified: boolean;
}

/**
 * What the consent and device pages say about a client.
 *
 * @example
 * describeClient(client, new Set()) // → { id, name: 'MCP Inspector', unverified: true }
 */
export function describeClient(client: Client | undefined, staticClientIds: ReadonlySet<string>): ClientDisplay {
  if (!client) return { id: 'unknown', name: 'an unknown application', unverified: true };
  const name = typeof client.clientName === 'string' && client.clientName.trim() ? client.clientName.trim() : client.clientId;
  return { id: client.clientId, name, unverified: !staticClientIds.has(client.clientId) };
}
