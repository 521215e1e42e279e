import type * as oauth from 'oauth4webapi';
import { canOpenBrowser } from './browser.ts';
import { dpopKeyFrom, dpopResourceFetch, newDpopKey, type DpopKey } from './dpop.ts';
import { discoverAuthorizationServer, discoverResource, parseChallenge, type Challenge, type ResourceMetadata } from './discovery.ts';
import {
  browserGrant,
  clientCredentialsGrant,
  deviceGrant,
  idJagGrant,
  refreshGrant,
  tokenRecord,
  type GrantContext,
  type IdJagSource,
} from './grants.ts';
import { CliError } from './http.ts';
import { clientFor } from './registration.ts';
import type { ClientRecord, Store, TokenRecord } from './store.ts';

export interface SessionOptions {
  store: Store;
  fetch: typeof fetch;
  /** May we ask a person to sign in (a TTY, the login command, the conformance adapter)? */
  interactive: boolean;
  flow: 'browser' | 'device' | 'auto';
  clientCredentials?: boolean;
  /** Enterprise-Managed Authorization: an ID token exchanged at the IdP for an ID-JAG (no user step here). */
  idJag?: IdJagSource;
  /** Sign in with DPoP-bound tokens (RFC 9449); a cached DPoP sign-in keeps using DPoP without it. */
  dpop?: boolean;
  scope?: string;
  clientId?: string;
  clientSecret?: string;
  clientKeyFile?: string;
  signingAlgorithm?: string;
  clientMetadataUrl?: string;
  /** Shows the authorization URL: open a browser (or, in the conformance adapter, follow it over HTTP). */
  open: (url: string) => Promise<void> | void;
  say: (line: string) => void;
  /** Device flow: print a QR code of the verification URI too (qr.ts `wantsQr`). */
  qr?: boolean;
  /** How many step-up re-authorizations one request may cause before we give up. */
  stepUpLimit?: number;
  /** Refresh this many seconds before the access token expires. */
  refreshMarginSeconds?: number;
  now?: () => number;
}

/** The command to print when a sign-in is needed but nobody can do it here. */
export const loginHint = (mcpUrl: string) => `mcp-oauth login ${mcpUrl}   (or: npm run client -- login ${mcpUrl})`;

/** The challenge of an unauthenticated MCP request, to start a login before any call. */
export async function probe(mcpUrl: URL, fetchImpl: typeof fetch): Promise<{ status: number; challenge?: Challenge }> {
  const response = await fetchImpl(mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'mcp-oauth', version: '0.1.0' } },
    }),
  });
  await response.body?.cancel();
  return { status: response.status, challenge: parseChallenge(response) };
}

/**
 * One MCP server's sign-in: finds the cached tokens, refreshes them before they expire and on a
 * 401, logs in (discovery, registration, a grant) when it must and may, and steps up on a 403
 * insufficient_scope with the union of the old and new scopes. `fetch` is what the MCP transport uses.
 */
export class Session {
  readonly mcpUrl: URL;
  readonly options: SessionOptions;
  tokens: TokenRecord | undefined;
  #servers = new Map<string, oauth.AuthorizationServer>();
  #loaded = false;
  /** The loaded DPoP key, one handle per key so the servers' nonces are remembered between requests. */
  #dpop: DpopKey | undefined;

  constructor(mcpUrl: URL, options: SessionOptions) {
    this.mcpUrl = mcpUrl;
    this.options = options;
  }

  #now = () => (this.options.now ?? Date.now)();

  async #authorizationServer(issuer: string): Promise<oauth.AuthorizationServer> {
    let as = this.#servers.get(issuer);
    if (!as) {
      as = await discoverAuthorizationServer(issuer, this.options.fetch);
      this.#servers.set(issuer, as);
    }
    return as;
  }

  async #dpopKey(jwk: JsonWebKey): Promise<DpopKey> {
    if (this.#dpop?.jwk.d !== jwk.d) this.#dpop = await dpopKeyFrom(jwk);
    return this.#dpop!;
  }

  async #load(): Promise<TokenRecord | undefined> {
    if (!this.#loaded) {
      this.#loaded = true;
      this.tokens = await this.options.store.tokensFor(this.mcpUrl.href);
    }
    return this.tokens;
  }

  /**
   * Discovery → registration → grant → cache. `challenge` is the 401/403 that sent us here (or a
   * probe's); `scope` overrides the scope choice (step-up's union).
   */
  async login(challenge?: Challenge, scope?: string, freshClient = false): Promise<TokenRecord> {
    const { store, fetch: fetchImpl } = this.options;
    if (!challenge) {
      const probed = await probe(this.mcpUrl, fetchImpl);
      if (probed.status !== 401)
        throw new CliError(
          probed.status < 300
            ? `${this.mcpUrl.href} does not ask for authorization: no sign-in needed (use --no-auth)`
            : `${this.mcpUrl.href} answered ${probed.status}, not a 401 challenge: is it an MCP server?`,
        );
      challenge = probed.challenge;
    }
    const prm: ResourceMetadata = await discoverResource(this.mcpUrl, challenge, fetchImpl);
    const issuer = prm.authorization_servers?.[0];
    if (!issuer) throw new CliError(`the protected resource metadata of ${this.mcpUrl.href} names no authorization server`);
    const as = await this.#authorizationServer(issuer);

    // Scope: asked for explicitly, else the challenge's, else everything the resource publishes.
    let chosen = scope ?? this.options.scope ?? challenge?.scope ?? prm.scopes_supported?.join(' ');
    // Neither grant involves the user here, so neither waits for a person to approve.
    const unattended = this.options.clientCredentials || this.options.idJag !== undefined;
    // SEP-2207: a client that wants refresh tokens asks for offline_access where the AS lists it.
    if (!this.options.clientCredentials && as.scopes_supported?.includes('offline_access') && chosen !== undefined) {
      const set = new Set(chosen.split(' ').filter(Boolean));
      set.add('offline_access');
      chosen = [...set].join(' ');
    }

    // Checked before registering: a script without a token must not leave registrations behind.
    if (!this.options.interactive && !unattended)
      throw new CliError(`not signed in to ${this.mcpUrl.href}: run\n  ${loginHint(this.mcpUrl.href)}`);
    const flow = this.#flow(as);
    const client: ClientRecord = await clientFor(
      as,
      {
        clientId: this.options.clientId,
        clientSecret: this.options.clientSecret,
        clientKeyFile: this.options.clientKeyFile,
        signingAlgorithm: this.options.signingAlgorithm,
        clientMetadataUrl: this.options.clientMetadataUrl,
        wantsDevice: flow === 'device',
        fresh: freshClient,
      },
      store,
      fetchImpl,
    );
    if (client.kind !== 'dcr') await store.saveClient(client);

    // A new key for a new sign-in (a step-up or an expired grant included), whenever --dpop was
    // asked for now or the sign-in being replaced was DPoP-bound.
    const dpop = this.options.dpop || this.tokens?.dpop_jwk ? (this.#dpop = await newDpopKey()) : undefined;
    const ctx: GrantContext = {
      as,
      client,
      resource: prm.resource,
      scope: chosen,
      fetch: fetchImpl,
      say: this.options.say,
      qr: this.options.qr,
      dpop: dpop?.handle,
    };
    const response = this.options.idJag
      ? await idJagGrant(ctx, this.options.idJag)
      : this.options.clientCredentials
        ? await clientCredentialsGrant(ctx)
        : flow === 'device'
          ? await deviceGrant(ctx)
          : await browserGrant(ctx, this.options.open);
    const record = tokenRecord(
      response,
      {
        mcpUrl: this.mcpUrl.href,
        resource: prm.resource,
        issuer: as.issuer,
        client_id: client.client_id,
        scope: chosen,
        grant: this.options.idJag
          ? 'id_jag'
          : this.options.clientCredentials
            ? 'client_credentials'
            : flow === 'device'
              ? 'device_code'
              : 'authorization_code',
        dpop_jwk: dpop?.jwk,
      },
      this.#now(),
    );
    if (dpop && !record.dpop_jwk)
      this.options.say(`warning: ${as.issuer} issued a ${record.token_type} token, not a DPoP-bound one; using it as it is`);
    await store.saveTokens(record);
    this.tokens = record;
    this.#loaded = true;
    return record;
  }

  #flow(as: oauth.AuthorizationServer): 'browser' | 'device' {
    if (this.options.flow !== 'auto') return this.options.flow;
    // A re-authorization (step-up, an expired grant) goes the way the user signed in before.
    if (this.tokens?.grant === 'device_code' && as.device_authorization_endpoint) return 'device';
    if (this.tokens?.grant === 'authorization_code') return 'browser';
    return !canOpenBrowser() && as.device_authorization_endpoint ? 'device' : 'browser';
  }

  /**
   * A new access token from the refresh token, under the cache lock: if another process rotated
   * it meanwhile we take its result instead of presenting the spent refresh token (reuse).
   * Undefined when there is nothing to refresh with or the AS refused.
   */
  async refresh(stale: TokenRecord): Promise<TokenRecord | undefined> {
    const { store } = this.options;
    return store.withLock(store.tokenFile(stale.issuer, stale.resource), async () => {
      const current = await store.getTokens(stale.issuer, stale.resource);
      if (current && current.access_token !== stale.access_token && !this.#expiring(current)) return (this.tokens = current);
      const record = current ?? stale;
      if (record.grant === 'client_credentials') return undefined;
      if (!record.refresh_token) return undefined;
      const as = await this.#authorizationServer(record.issuer);
      const client = await store.getClient(record.issuer);
      if (!client || client.client_id !== record.client_id) return undefined;
      const ctx: GrantContext = {
        as,
        client,
        resource: record.resource,
        scope: record.scope,
        fetch: this.options.fetch,
        say: this.options.say,
        // A DPoP-bound refresh token is only accepted with a proof from the same key.
        dpop: record.dpop_jwk ? (await this.#dpopKey(record.dpop_jwk)).handle : undefined,
      };
      const response = await refreshGrant(ctx, record.refresh_token);
      if (!response) {
        await store.forgetTokens(record.issuer, record.resource);
        this.tokens = undefined;
        return undefined;
      }
      const next = tokenRecord(
        response,
        { ...record, scope: response.scope ?? record.scope, refresh_token: record.refresh_token },
        this.#now(),
      );
      await store.saveTokens(next);
      return (this.tokens = next);
    });
  }

  #expiring(record: TokenRecord): boolean {
    if (record.expires_at === undefined) return false;
    return record.expires_at - (this.options.refreshMarginSeconds ?? 60) <= this.#now() / 1000;
  }

  /** The token to send now: refreshed first when it is about to expire. */
  async #currentToken(): Promise<TokenRecord | undefined> {
    const tokens = await this.#load();
    if (tokens && this.#expiring(tokens)) {
      const refreshed = await this.refresh(tokens);
      if (refreshed) return refreshed;
      if (tokens.grant === 'client_credentials') return undefined; // a new client credentials grant on the 401
    }
    return this.tokens;
  }

  /** fetch for the MCP transport: bearer token, refresh on 401, login when allowed, step-up on 403. */
  readonly fetch: typeof fetch = async (input, init) => {
    let refreshed = false;
    let loggedIn = false;
    let stepUps = 0;
    const limit = this.options.stepUpLimit ?? 2;
    for (;;) {
      const token = await this.#currentToken();
      let response: Response;
      if (token?.dpop_jwk) {
        const { handle } = await this.#dpopKey(token.dpop_jwk);
        response = await dpopResourceFetch(handle, token.access_token, input, init, this.options.fetch);
      } else {
        const headers = new Headers(init?.headers);
        if (token) headers.set('authorization', `Bearer ${token.access_token}`);
        response = await this.options.fetch(input, { ...init, headers });
      }
      if (response.status === 401) {
        const challenge = parseChallenge(response);
        if (token && !refreshed) {
          refreshed = true;
          if (await this.refresh(token)) {
            await response.body?.cancel();
            continue;
          }
        }
        if (loggedIn) return response;
        loggedIn = true;
        await response.body?.cancel();
        await this.login(challenge);
        continue;
      }
      if (response.status === 403) {
        const challenge = parseChallenge(response);
        if (challenge?.error !== 'insufficient_scope') return response;
        await response.body?.cancel();
        if (stepUps >= limit)
          throw new CliError(
            `the server still refuses with insufficient_scope (wants ${challenge.scope ?? '?'}) after ${limit} re-authorizations`,
          );
        stepUps++;
        const scopes = new Set([...(token?.scope ?? '').split(' '), ...(challenge.scope ?? '').split(' ')].filter(Boolean));
        if (!this.options.interactive && !this.options.clientCredentials && !this.options.idJag)
          throw new CliError(
            `this needs the scope ${challenge.scope}: run\n  ${loginHint(this.mcpUrl.href)} --scope "${[...scopes].join(' ')}"`,
          );
        await this.login(challenge, scopes.size ? [...scopes].join(' ') : undefined);
        continue;
      }
      return response;
    }
  };
}
