import type Provider from 'oidc-provider';

/**
 * oidc-provider 9.13 persists a touched session after every request, and throws a TypeError when
 * that session was never saved. On error paths (GET /device/<uid> without a live resume cookie,
 * a POST /device with a bad body) this replaces a proper 400 with a 500. A session that was never
 * saved has nothing to persist, so that case becomes a no-op; everything else is unchanged.
 *
 * ```ts source="./session-persist.examples.ts#tolerateUnsavedSessions"
 * tolerateUnsavedSessions(provider);
 * ```
 */
export function tolerateUnsavedSessions(provider: Provider): void {
  const prototype = provider.Session.prototype as unknown as { persist(this: { exp?: unknown }): Promise<unknown> };
  const persist = prototype.persist;
  prototype.persist = async function persistIfSaved(this: { exp?: unknown }) {
    if (typeof this.exp !== 'number') return undefined;
    return persist.call(this);
  };
}
