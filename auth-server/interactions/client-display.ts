import type { Client } from 'oidc-provider';

export interface ClientDisplay {
  id: string;
  name: string;
  /** Nobody vouched for the name. */
  unverified: boolean;
}

/**
 * What the consent and device pages say about a client. Every client of this server registered
 * itself (RFC 7591) or is identified by a URL it controls (CIMD), so every name is the client's own
 * claim and the pages say so.
 *
 * ```ts source="./client-display.examples.ts#describeClient"
 * describeClient(client); // → { id, name: 'MCP Inspector', unverified: true }
 * ```
 */
export function describeClient(client: Client | undefined): ClientDisplay {
  if (!client) return { id: 'unknown', name: 'an unknown application', unverified: true };
  const name = typeof client.clientName === 'string' && client.clientName.trim() ? client.clientName.trim() : client.clientId;
  return { id: client.clientId, name, unverified: true };
}
