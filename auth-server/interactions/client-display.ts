import type { Client } from 'oidc-provider';
import { VERIFIED } from '../provider/client-marks.ts';

export interface ClientDisplay {
  id: string;
  name: string;
  /** Nobody vouched for the name. */
  unverified: boolean;
}

/**
 * What the consent and device pages say about a client. A client that registered itself (RFC
 * 7591) or is identified by a URL it controls (CIMD) names itself, and the pages say so; only a
 * client the operator vouched for (`npm run clients -- add --verified`, VERIFIED) is not
 * called unverified.
 *
 * ```ts source="./client-display.examples.ts#describeClient"
 * describeClient(client); // → { id, name: 'MCP Inspector', unverified: true }
 * ```
 */
export function describeClient(client: Client | undefined): ClientDisplay {
  if (!client) return { id: 'unknown', name: 'an unknown application', unverified: true };
  const name = typeof client.clientName === 'string' && client.clientName.trim() ? client.clientName.trim() : client.clientId;
  return { id: client.clientId, name, unverified: client.metadata()[VERIFIED] !== true };
}
