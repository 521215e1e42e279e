/** Type-checked examples for client-display.ts (its JSDoc shows these regions). */
import type { Client } from 'oidc-provider';
import { describeClient } from './client-display.ts';

export function describeClientExample(client: Client) {
  //#region describeClient
  describeClient(client); // → { id, name: 'MCP Inspector', unverified: true }
  //#endregion describeClient
}
