import * as oauth from 'oauth4webapi';
import { oauthOptions } from './http.ts';

/**
 * One sign-in's DPoP key (RFC 9449): oauth4webapi's handle signs the proofs and remembers each
 * server's DPoP-Nonce; `jwk` is the private key as kept in the (0600) token file, so later
 * commands prove possession of the same key the access and refresh tokens are bound to.
 */
export interface DpopKey {
  handle: oauth.DPoPHandle;
  jwk: JsonWebKey;
}

const ES256: EcKeyImportParams = { name: 'ECDSA', namedCurve: 'P-256' };

/** A new ES256 key pair for a new sign-in (extractable only so that it can be cached). */
export async function newDpopKey(): Promise<DpopKey> {
  const pair = await oauth.generateKeyPair('ES256', { extractable: true });
  return { handle: oauth.DPoP({}, pair), jwk: await crypto.subtle.exportKey('jwk', pair.privateKey) };
}

/** The cached key of a sign-in: the private key stays non-extractable once loaded. */
export async function dpopKeyFrom(jwk: JsonWebKey): Promise<DpopKey> {
  const { kty, crv, x, y } = jwk;
  const [privateKey, publicKey] = await Promise.all([
    crypto.subtle.importKey('jwk', jwk, ES256, false, ['sign']),
    // oauth4webapi exports the public key into every proof's `jwk` header: it must be extractable.
    crypto.subtle.importKey('jwk', { kty, crv, x, y }, ES256, true, ['verify']),
  ]);
  return { handle: oauth.DPoP({}, { privateKey, publicKey }), jwk };
}

/**
 * Runs a token request (request + response processing) and, when the authorization server
 * answers `use_dpop_nonce` (RFC 9449 §8), once more: the handle has cached the DPoP-Nonce of
 * the refusal, so the second proof carries it.
 */
export async function retryOnDpopNonce<T>(dpop: oauth.DPoPHandle | undefined, attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if (dpop && oauth.isDPoPNonceError(error)) return attempt();
    throw error;
  }
}

/**
 * An MCP HTTP request with a DPoP-bound token: `Authorization: DPoP <token>` and a fresh proof
 * (htm, htu without query, ath) made by oauth4webapi for each attempt. A 401 `use_dpop_nonce`
 * (RFC 9449 §9) is retried once with the DPoP-Nonce the resource server sent (the handle keeps it
 * for later requests to that origin). Every other challenge is returned as the response, for the
 * session to refresh, sign in again or step up as it does with Bearer tokens.
 */
export async function dpopResourceFetch(
  dpop: oauth.DPoPHandle,
  accessToken: string,
  input: Parameters<typeof fetch>[0],
  init: RequestInit | undefined,
  fetchImpl: typeof fetch,
): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
  const headers = new Headers(init?.headers);
  headers.delete('authorization');
  // The SDK sends JSON-RPC bodies as strings, which can be sent again on the retry.
  const body = (init?.body ?? undefined) as oauth.ProtectedResourceRequestBody;
  for (let attempt = 0; ; attempt++) {
    try {
      return await oauth.protectedResourceRequest(accessToken, method, url, headers, body, {
        DPoP: dpop,
        signal: init?.signal ?? undefined,
        // Our fetch serves every method; oauthOptions is typed for the token endpoint's POST.
        ...(oauthOptions(fetchImpl, url) as oauth.ProtectedResourceRequestOptions),
      });
    } catch (error) {
      if (!(error instanceof oauth.WWWAuthenticateChallengeError)) throw error;
      if (attempt === 0 && oauth.isDPoPNonceError(error)) {
        await error.response.body?.cancel();
        continue;
      }
      return error.response;
    }
  }
}
