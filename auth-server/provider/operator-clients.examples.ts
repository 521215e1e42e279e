/** Type-checked examples for operator-clients.ts (its JSDoc shows these regions). */
import type Provider from 'oidc-provider';
import { buildOperatorClient } from './operator-clients.ts';

export function buildOperatorClientExample(provider: Provider) {
  //#region buildOperatorClient
  const { payload, secret } = buildOperatorClient(provider, {
    name: 'nightly report',
    grantTypes: ['client_credentials'],
    auth: { method: 'client_secret_basic' },
    scope: 'mcp:tools',
  });
  //#endregion buildOperatorClient
}
