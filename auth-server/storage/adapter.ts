import type { Adapter, AdapterConstructor, AdapterPayload } from 'oidc-provider';
import { DISABLED } from '../provider/client-marks.ts';
import { AsyncLocalStorage } from 'node:async_hooks';
import { modelKey, type ModelPayload, type ModelStore } from './store.ts';

interface RefreshContext {
  /** Rows prefetched by findRefreshContext, served once each. */
  rows: Map<string, ModelPayload | undefined>;
  /** A RefreshToken oidc-provider consumed whose write waits for the new one's (ModelStore.rotate). */
  consumed?: string;
}

const refreshContext = new AsyncLocalStorage<RefreshContext>();

/**
 * Runs `next` (the rest of a refresh_token request) with the rows it is about to read already
 * fetched in one round trip (ModelStore.findRefreshContext): the adapter's finds for them are
 * answered from memory, once each. And with ModelStore.rotate, the old RefreshToken's consume
 * is written together with the new RefreshToken (one write where oidc-provider makes two calls);
 * a consume no new token follows (the request failed in between) is written when `next` ends,
 * or before any other read or delete of this request, so nothing sees the token unconsumed
 * that would have seen it consumed before, and the response is not sent before it is written.
 * Must run under the token-request lease, so no other request for this refresh token changes
 * the rows or reads the token in between.
 *
 * ```ts source="./adapter.examples.ts#withRefreshContext"
 * await withRefreshContext(storage.models, refreshToken, clientId, next);
 * ```
 */
export async function withRefreshContext(
  models: ModelStore,
  refreshTokenId: string,
  clientId: string | undefined,
  next: () => Promise<void>,
): Promise<void> {
  if (!models.findRefreshContext && !models.rotate) return next();
  const context: RefreshContext = {
    rows: models.findRefreshContext ? await models.findRefreshContext(refreshTokenId, clientId) : new Map(),
  };
  try {
    await refreshContext.run(context, next);
  } finally {
    await writeConsumed(models, context);
  }
}

/** Writes a consume withRefreshContext held back, if one is still waiting. */
async function writeConsumed(models: ModelStore, context: RefreshContext | undefined): Promise<void> {
  const id = context?.consumed;
  if (id === undefined) return;
  context!.consumed = undefined;
  await models.consume('RefreshToken', id);
}

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
      const context = refreshContext.getStore();
      if (this.name === 'RefreshToken' && context?.consumed !== undefined && models.rotate) {
        // The rotation's new token: written with the old one's consume (withRefreshContext).
        const consumed = context.consumed;
        context.consumed = undefined;
        await models.rotate(this.name, consumed, id, payload as ModelPayload, ttl);
        return;
      }
      await writeConsumed(models, context);
      await models.upsert(this.name, id, payload as ModelPayload, ttl);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      // Rows this request prefetched (withRefreshContext) are served once each, then storage again.
      const context = refreshContext.getStore();
      await writeConsumed(models, context);
      const prefetched = context?.rows;
      const key = modelKey(this.name, id);
      let payload: ModelPayload | undefined;
      if (prefetched?.has(key)) {
        payload = prefetched.get(key);
        prefetched.delete(key);
      } else {
        payload = await models.find(this.name, id);
      }
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
      const context = refreshContext.getStore();
      if (this.name === 'RefreshToken' && context && models.rotate) {
        // Held back until the rotation writes the new token (upsert above), at the latest until
        // the request ends (withRefreshContext).
        await writeConsumed(models, context);
        context.consumed = id;
        return;
      }
      await models.consume(this.name, id);
    }

    async destroy(id: string): Promise<void> {
      await writeConsumed(models, refreshContext.getStore());
      await models.destroy(this.name, id);
      if (this.name === 'Client') await options.onClientDeleted?.(id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await writeConsumed(models, refreshContext.getStore());
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
