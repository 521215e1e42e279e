import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { ModelStore } from '../storage/store.ts';

/**
 * Registered clients that never obtain a token are pruned: a new registration is stored with a
 * lifetime (the adapter's `unusedClientTtl`), and the first token issued to a client stores it
 * again without one, so it stays. Open registration otherwise fills the database with clients
 * that ran once in a test and were forgotten.
 *
 * ```ts source="./unused-clients.examples.ts#keepClientsThatGetTokens"
 * keepClientsThatGetTokens(provider, storage.models);
 * ```
 */
export function keepClientsThatGetTokens(provider: Provider, models: ModelStore): void {
  // One write per client per process: after that the row is already permanent.
  const kept = new Set<string>();
  (provider as unknown as NodeJS.EventEmitter).on('grant.success', (ctx: KoaContextWithOIDC) => {
    const clientId = ctx.oidc.client?.clientId;
    if (!clientId || kept.has(clientId) || ctx.oidc.client?.clientIdMetadataDocument) return;
    kept.add(clientId);
    void keep(models, clientId).catch(() => kept.delete(clientId));
  });
  // An RFC 7592 update stores the client again, with the lifetime: the next token keeps it again.
  (provider as unknown as NodeJS.EventEmitter).on('registration_update.success', (_ctx: unknown, client: { clientId: string }) => {
    kept.delete(client.clientId);
  });
}

async function keep(models: ModelStore, clientId: string): Promise<void> {
  const payload = await models.find('Client', clientId);
  if (payload) await models.upsert('Client', clientId, payload, undefined);
}
