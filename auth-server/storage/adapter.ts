import type { Adapter, AdapterConstructor, AdapterPayload } from 'oidc-provider';
import { DISABLED } from '../provider/client-marks.ts';
import type { ModelPayload, ModelStore } from './store.ts';

/**
 * Makes the class oidc-provider wants as its `adapter` setting: it constructs one instance per
 * model name (`new Adapter('AccessToken')`) and calls the methods below with that model's ids.
 *
 * revokeByGrantId deletes the grant's tokens of *every* grantable model, as oidc-provider's own
 * memory adapter does: revoking a grant must not leave, say, a refresh token alive because the
 * client's grant types changed since it was issued. oidc-provider calls it once per grantable
 * model in the same tick, so concurrent calls for one grant share a single delete.
 *
 * Registered clients come without a lifetime; `unusedClientTtl` (seconds) gives them one, so a
 * client that never gets a token is swept (see provider/unused-clients.ts, which keeps the rest).
 *
 * ```ts source="./adapter.examples.ts#createAdapterFactory"
 * const provider = new Provider(issuer, { adapter: createAdapterFactory(storage.models) });
 * ```
 */
export function createAdapterFactory(
  models: ModelStore,
  options: {
    unusedClientTtl?: number | undefined;
    /**
     * Called once per grant oidc-provider revokes (refresh-token revocation, reuse detection, a
     * replayed code), after its stored tokens are gone: the revocation feed (revocation/revocations.ts),
     * so resource servers refuse its JWT access tokens too, which are not stored.
     */
    onGrantRevoked?: (grantId: string) => Promise<void>;
    /** Called when oidc-provider deletes a client (RFC 7592 DELETE /reg/:id): its tokens go through the feed too. */
    onClientDeleted?: (clientId: string) => Promise<void>;
  } = {},
): AdapterConstructor {
  const revoking = new Map<string, Promise<void>>();

  return class StorageAdapter implements Adapter {
    readonly name: string;

    constructor(name: string) {
      this.name = name;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const ttl = expiresIn ?? (this.name === 'Client' ? options.unusedClientTtl : undefined);
      await models.upsert(this.name, id, payload as ModelPayload, ttl);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      const payload = await models.find(this.name, id);
      // A client the operator disabled is not found: every endpoint answers invalid_client.
      if (this.name === 'Client' && payload?.[DISABLED] === true) return undefined;
      return payload as AdapterPayload | undefined;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return (await models.findByUid(this.name, uid)) as AdapterPayload | undefined;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return (await models.findByUserCode(this.name, userCode)) as AdapterPayload | undefined;
    }

    async consume(id: string): Promise<void> {
      await models.consume(this.name, id);
    }

    async destroy(id: string): Promise<void> {
      await models.destroy(this.name, id);
      if (this.name === 'Client') await options.onClientDeleted?.(id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      let pending = revoking.get(grantId);
      if (!pending) {
        pending = models
          .revokeByGrantId(grantId)
          .then(() => options.onGrantRevoked?.(grantId))
          .finally(() => revoking.delete(grantId));
        revoking.set(grantId, pending);
      }
      await pending;
    }
  };
}
