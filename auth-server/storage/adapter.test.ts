import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Provider from 'oidc-provider';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAdapterFactory } from './adapter.ts';
import { openSqliteStorage } from './sqlite-store.ts';
import type { Storage } from './store.ts';

describe('createAdapterFactory', () => {
  let dir: string;
  let storage: Storage;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-adapter-'));
    storage = openSqliteStorage(dir);
  });
  afterEach(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is constructed with a model name and finds nothing (undefined) for a missing id', async () => {
    const Adapter = createAdapterFactory(storage.models);
    const adapter = new Adapter('AccessToken');
    expect(await adapter.find('missing')).toBeUndefined();
    expect(await adapter.findByUid('missing')).toBeUndefined();
    expect(await adapter.findByUserCode('missing')).toBeUndefined();
  });

  it('scopes ids to its model name', async () => {
    const Adapter = createAdapterFactory(storage.models);
    await new Adapter('Session').upsert('x', { uid: 'u1', accountId: 'alice' }, 60);
    expect(await new Adapter('Session').findByUid('u1')).toEqual({ uid: 'u1', accountId: 'alice' });
    expect(await new Adapter('Interaction').find('x')).toBeUndefined();
  });

  describe('inside oidc-provider', () => {
    // Our own key and TTLs only to keep oidc-provider's development-mode warnings out of the output.
    const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const newProvider = () =>
      new Provider('http://localhost:3000', {
        adapter: createAdapterFactory(storage.models),
        jwks: { keys: [{ ...signingKey, alg: 'ES256', use: 'sig' }] },
        features: { devInteractions: { enabled: false } },
        ttl: { Grant: 3600, AccessToken: 600, RefreshToken: 86_400 },
        clientDefaults: { id_token_signed_response_alg: 'ES256' },
        clients: [
          {
            client_id: 'app',
            client_secret: 'a-secret-long-enough-for-hs256-00000',
            redirect_uris: ['http://localhost:8080/cb'],
            grant_types: ['authorization_code', 'refresh_token'],
          },
        ],
      });

    async function issueGrant(provider: Provider) {
      const client = await provider.Client.find('app');
      if (!client) throw new Error('static client not found');
      const grant = new provider.Grant({ accountId: 'alice', clientId: 'app' });
      grant.addOIDCScope('openid offline_access');
      const grantId = await grant.save();
      const common = { client, accountId: 'alice', grantId, scope: 'openid offline_access', gty: 'authorization_code' };
      const refreshToken = new provider.RefreshToken({ ...common, expiresWithSession: false });
      const accessToken = new provider.AccessToken(common);
      return { grantId, refresh: await refreshToken.save(), access: await accessToken.save() };
    }

    it('stores and finds grants and tokens, and consume marks a refresh token consumed', async () => {
      const provider = newProvider();
      const { grantId, refresh, access } = await issueGrant(provider);

      expect((await provider.Grant.find(grantId))?.accountId).toBe('alice');
      expect((await provider.AccessToken.find(access))?.grantId).toBe(grantId);
      const found = await provider.RefreshToken.find(refresh);
      expect(found?.isValid).toBe(true);

      await found!.consume();
      expect((await provider.RefreshToken.find(refresh))?.consumed).toEqual(expect.any(Number));
    });

    it('revoking a grant (revokeByGrantId on every token model at once) leaves no token of it', async () => {
      const provider = newProvider();
      const first = await issueGrant(provider);
      const second = await issueGrant(provider);

      // What oidc-provider's revoke helper does: every grantable model, concurrently.
      await Promise.all([
        provider.AccessToken.revokeByGrantId(first.grantId),
        provider.RefreshToken.revokeByGrantId(first.grantId),
        provider.AuthorizationCode.revokeByGrantId(first.grantId),
      ]);

      expect(await provider.AccessToken.find(first.access)).toBeUndefined();
      expect(await provider.RefreshToken.find(first.refresh)).toBeUndefined();
      expect(await provider.RefreshToken.find(second.refresh)).toBeDefined();
      expect(await provider.AccessToken.find(second.access)).toBeDefined();
    });

    it('a second provider on the same file (a restart) still honours the refresh token', async () => {
      const { refresh } = await issueGrant(newProvider());
      expect((await newProvider().RefreshToken.find(refresh))?.accountId).toBe('alice');
    });
  });
});
