import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, loginAndGetTokens, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

let server: TestAuthServer;
beforeAll(async () => {
  server = await startAuthServer({ AUTH_PRUNE_UNUSED_CLIENTS_DAYS: '2' });
  await addUser(server);
});
afterAll(() => server?.close());

/** Reads the stored expiry straight from the SQLite file (what the sweeper acts on). */
function clientExpiry(clientId: string): number | null | undefined {
  const db = new DatabaseSync(join(server.config.dataDir, 'auth.db'), { readOnly: true });
  try {
    const row = db.prepare("SELECT expires_at FROM models WHERE model = 'Client' AND id = ?").get(clientId) as
      { expires_at: number | null } | undefined;
    return row ? row.expires_at : undefined;
  } finally {
    db.close();
  }
}

describe('pruning clients that were never used', () => {
  it('stores a new registration with the configured lifetime and keeps it for good once it gets a token', async () => {
    const client = await registerPublicClient(server);
    const expiry = clientExpiry(client.client_id)!;
    const twoDays = 2 * 24 * 60 * 60 * 1000;
    expect(expiry - Date.now()).toBeGreaterThan(twoDays - 60_000);
    expect(expiry - Date.now()).toBeLessThan(twoDays + 60_000);

    await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
    await expect.poll(() => clientExpiry(client.client_id)).toBeNull();
  });

  it('with 0 days, never prunes', async () => {
    const keepAll = await startAuthServer({ AUTH_PRUNE_UNUSED_CLIENTS_DAYS: '0' });
    try {
      const client = await registerPublicClient(keepAll);
      const db = new DatabaseSync(join(keepAll.config.dataDir, 'auth.db'), { readOnly: true });
      const row = db.prepare("SELECT expires_at FROM models WHERE model = 'Client' AND id = ?").get(client.client_id) as {
        expires_at: number | null;
      };
      db.close();
      expect(row.expires_at).toBeNull();
    } finally {
      await keepAll.close();
    }
  });
});
