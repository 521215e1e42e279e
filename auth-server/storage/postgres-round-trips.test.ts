import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISABLED } from '../provider/client-marks.ts';
import {
  addUser,
  loginAndGetTokens,
  postForm,
  RESOURCE,
  registerPublicClient,
  startAuthServer,
  type TestAuthServer,
} from '../testing/harness.ts';

/**
 * Statements sent to PostgreSQL per refresh rotation, counted at pg.Client#query (every pool
 * query goes through it): a count, not a time, so a change that adds round trips to the hot
 * path fails here on any machine. bench/FINDINGS.md lists them.
 */
const ROUND_TRIPS_PER_ROTATION = 6;

describe('PostgreSQL round trips per refresh rotation', () => {
  let server: TestAuthServer;
  const statements: string[] = [];
  const query = pg.Client.prototype.query;

  beforeAll(async () => {
    server = await startAuthServer({ AUTH_RATE_LIMITS: 'off', AUTH_REFRESH_GRACE_SECONDS: '5' }, { store: 'postgres' });
    await addUser(server);
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const first = args[0] as string | { text?: string; name?: string };
      const text = typeof first === 'string' ? first : (first.name ?? first.text ?? '?');
      // The audit table is written in batches on a timer (admin/audit-trail.ts), not by the
      // request: a batch that happens to land in the measured window is not the rotation's.
      if (!text.includes('audit_events')) statements.push(text);
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
  });
  afterAll(async () => {
    pg.Client.prototype.query = query;
    await server?.close();
  });

  it('a refresh rotation with a grace window costs exactly the pinned number of statements', async () => {
    const client = await registerPublicClient(server);
    const { tokens } = await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
    // Warm: the client and the grant are read the same way on every refresh; count the second one.
    const first = await postForm(`${server.url}/token`, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: client.client_id,
      resource: RESOURCE,
    });
    const rotated = (await first.json()) as { refresh_token: string };
    statements.length = 0;
    const response = await postForm(`${server.url}/token`, {
      grant_type: 'refresh_token',
      refresh_token: rotated.refresh_token,
      client_id: client.client_id,
      resource: RESOURCE,
    });
    expect(response.status).toBe(200);
    // 6: lease, replay check, RefreshToken + Client + Grant in one prefetch, account, consume +
    // new RefreshToken in one statement (ModelStore.rotate), replay + release. 12 before: a
    // replay read before the lease, the three finds one by one, the account read twice, a
    // separate replay write, consume and the new token apart.
    expect(statements, statements.map((s) => s.replace(/\s+/g, ' ').slice(0, 100)).join('\n')).toHaveLength(ROUND_TRIPS_PER_ROTATION);
  });

  // The rotation reads RefreshToken, Client and Grant in one prefetch: what it reads must still be
  // what storage says at that moment, so a revoked grant or a disabled client is refused.
  async function rotationInput() {
    const client = await registerPublicClient(server);
    const { tokens } = await loginAndGetTokens(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });
    return { clientId: client.client_id, refreshToken: tokens.refresh_token! };
  }
  const refresh = (clientId: string, refreshToken: string) =>
    postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId, resource: RESOURCE });

  it('refuses a refresh token whose grant was revoked (invalid_grant)', async () => {
    const { clientId, refreshToken } = await rotationInput();
    const stored = await server.storage.models.find('RefreshToken', refreshToken);
    await server.storage.models.revokeByGrantId(String(stored!.grantId));
    const response = await refresh(clientId, refreshToken);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('refuses a refresh by a client the operator disabled (invalid_client)', async () => {
    const { clientId, refreshToken } = await rotationInput();
    const client = await server.storage.models.find('Client', clientId);
    await server.storage.models.upsert('Client', clientId, { ...client!, [DISABLED]: true }, undefined);
    const response = await refresh(clientId, refreshToken);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_client');
  });
});
