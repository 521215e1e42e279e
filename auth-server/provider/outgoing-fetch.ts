import { cappedFetch, type FetchFunction } from './capped-fetch.ts';

/** No JWKS or sector document a real client publishes comes near this. */
export const OUTGOING_BODY_LIMIT = 64 * 1024;

/** How long an allowed metadata-document URL may wait for its fetch (it follows at once). */
const PASS_TTL_MS = 10_000;

export interface OutgoingFetch {
  /** oidc-provider's `fetch` option. */
  fetch: FetchFunction;
  /** Call from `clientIdMetadataDocument.allowFetch`: the next fetch of this URL is a metadata document. */
  metadataDocumentAllowed(url: string): void;
}

/**
 * Every request oidc-provider makes on a client's behalf (Client ID Metadata Documents, `jwks_uri`,
 * `sector_identifier_uri`): bodies capped at 64 KiB, and oidc-provider's SSRF guard (its dispatcher,
 * which refuses loopback and private addresses) kept on.
 *
 * Those URLs are all supplied by clients, so the guard stays; development relaxes it for metadata
 * documents only, so a client under test can publish its document on localhost. oidc-provider's
 * fetch does not say what it fetches for, so `allowFetch`, which it calls right before fetching a
 * document, hands that one URL a short-lived pass.
 *
 * ```ts source="./outgoing-fetch.examples.ts#outgoingFetch"
 * const outgoing = outgoingFetch({ relaxForMetadataDocuments: !production });
 * const configuration = { fetch: outgoing.fetch }; // part of oidc-provider's configuration
 * ```
 */
export function outgoingFetch(options: { relaxForMetadataDocuments: boolean; inner?: FetchFunction }): OutgoingFetch {
  const passes = new Map<string, number>();
  const inner: FetchFunction = options.inner ?? ((url, init) => globalThis.fetch(url, init));
  const guarded: FetchFunction = (url, init) => {
    const expires = passes.get(url);
    passes.delete(url);
    if (expires === undefined || expires < Date.now()) return inner(url, init);
    const { dispatcher: _guard, ...rest } = init as RequestInit & { dispatcher?: unknown };
    return inner(url, rest);
  };
  return {
    fetch: cappedFetch(guarded, OUTGOING_BODY_LIMIT),
    metadataDocumentAllowed(url) {
      if (!options.relaxForMetadataDocuments) return;
      const now = Date.now();
      for (const [key, expires] of passes) if (expires < now) passes.delete(key);
      passes.set(url, now + PASS_TTL_MS);
    },
  };
}
