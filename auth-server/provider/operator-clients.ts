import { randomBytes } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';
import { createLogger } from '../../common/logger.ts';
import { findAccountFor } from '../accounts/claims.ts';
import { looksLikeAccountId } from '../accounts/new-account.ts';
import type { AuthServerConfig } from '../config.ts';
import { createPages } from '../interactions/pages.ts';
import { registerIdJagGrant } from '../enterprise/id-jag-grant.ts';
import { idJagExchangeHandler } from '../enterprise/token-exchange-grant.ts';
import { generateSigningKey } from '../keys/key-store.ts';
import { createAdapterFactory } from '../storage/adapter.ts';
import type { ModelPayload, ModelStore, Storage } from '../storage/store.ts';
import { ALLOWED_RESOURCES, DISABLED, RESOURCE_SERVER, VERIFIED } from './client-marks.ts';
import { hashClientSecret } from './client-secret-hash.ts';

export { DISABLED };
import { providerConfiguration } from './configuration.ts';
import { registerTokenExchange } from './token-exchange.ts';

/** How an operator's client authenticates at the token endpoint. */
export type OperatorClientAuth =
  | { method: 'client_secret_basic' | 'client_secret_post'; secret?: string }
  | { method: 'private_key_jwt'; jwks: { keys: unknown[] } }
  | { method: 'private_key_jwt'; jwksUri: string };

export interface OperatorClientRequest {
  name: string;
  /** Generated when absent (see newClientId). */
  clientId?: string;
  auth: OperatorClientAuth;
  /** ['client_credentials'] for a machine client, the jwt-bearer URN for ID-JAGs; [] is enough for introspection alone. */
  grantTypes: string[];
  scope?: string;
  roles?: string[];
  /** Marks the resource server's own client (client-policy.ts, RESOURCE_SERVER). */
  resourceServer?: boolean;
  /** For authorization_code: where the user comes back to. */
  redirectUris?: string[];
  /** The only resources its tokens may be for (ALLOWED_RESOURCES); undefined: any. */
  allowedResources?: string[];
  /** The operator vouches for its name (VERIFIED). */
  verified?: boolean;
}

/** An operator's client that oidc-provider would refuse; the message says why. */
export class InvalidOperatorClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidOperatorClientError';
  }
}

/**
 * A fresh client id: `mc_` and 24 random characters. Never the shape of an account id (22
 * characters without `mc_`), and told apart from registration's 21-character ids at a glance.
 */
export function newClientId(): string {
  return `mc_${randomBytes(18).toString('base64url')}`;
}

/** An operator's client as stored, and its secret in plain: shown once, never stored. */
export interface BuiltOperatorClient {
  payload: ModelPayload;
  /** For the secret methods only. */
  secret?: string;
}

/**
 * The stored form of an operator's client, checked by oidc-provider's own Client class with our
 * client policy (the same code that loads it at /token), so what the operator gets refused here
 * would be refused there too. A secret is stored hashed (client-secret-hash.ts) and returned
 * beside the payload, for the operator to see once. Throws InvalidOperatorClientError.
 *
 * ```ts source="./operator-clients.examples.ts#buildOperatorClient"
 * const { payload, secret } = buildOperatorClient(provider, {
 *   name: 'nightly report',
 *   grantTypes: ['client_credentials'],
 *   auth: { method: 'client_secret_basic' },
 *   scope: 'mcp:tools',
 * });
 * ```
 */
export function buildOperatorClient(provider: Provider, request: OperatorClientRequest): BuiltOperatorClient {
  const clientId = request.clientId ?? newClientId();
  if (looksLikeAccountId(clientId)) {
    // A token's sub equals its client_id only without a user; an account-shaped id would blur that.
    throw new InvalidOperatorClientError(`client id ${clientId} has the shape of an account id; choose another`);
  }
  const { auth } = request;
  const metadata: Record<string, unknown> = {
    client_id: clientId,
    client_id_issued_at: Math.floor(Date.now() / 1000),
    client_name: request.name,
    grant_types: request.grantTypes,
    response_types: request.grantTypes.includes('authorization_code') ? ['code'] : [],
    redirect_uris: request.redirectUris ?? [],
    token_endpoint_auth_method: auth.method,
  };
  let secret: string | undefined;
  if (auth.method !== 'private_key_jwt') {
    // Hashed: Client#compareClientSecret knows the form (compareHashedClientSecrets), and the
    // client policy refuses whatever would use it as a key (client_secret_jwt, HS*, AES).
    secret = auth.secret ?? randomBytes(32).toString('base64url');
    metadata.client_secret = hashClientSecret(secret);
    metadata.client_secret_expires_at = 0;
  } else if ('jwks' in auth) {
    metadata.jwks = auth.jwks;
  } else {
    metadata.jwks_uri = auth.jwksUri;
  }
  if (request.scope !== undefined) metadata.scope = request.scope;
  if (request.roles?.length) metadata.roles = request.roles;
  if (request.resourceServer) metadata[RESOURCE_SERVER] = true;
  if (request.allowedResources?.length) metadata[ALLOWED_RESOURCES] = request.allowedResources;
  if (request.verified) metadata[VERIFIED] = true;
  try {
    // The typings leave out the constructor; it is how oidc-provider itself builds every client.
    const Client = provider.Client as unknown as new (metadata: object) => { metadata(): object };
    return { payload: new Client(metadata).metadata() as ModelPayload, secret };
  } catch (error) {
    if (error instanceof errors.InvalidClientMetadata || error instanceof errors.InvalidRedirectUri) {
      throw new InvalidOperatorClientError(error.error_description ?? error.message);
    }
    throw error;
  }
}

/** Stores the client without a lifetime: unlike open registrations, the operator's are never pruned. */
export async function saveOperatorClient(models: ModelStore, payload: ModelPayload): Promise<void> {
  await models.upsert('Client', payload.client_id as string, payload, undefined);
}

/**
 * A Provider with the server's own configuration, for checking clients outside the server (the
 * CLI). Its signing keys are throwaway: it never signs anything.
 */
export async function clientCheckingProvider(config: AuthServerConfig, storage: Storage): Promise<Provider> {
  const prefix = new URL(config.issuer).pathname.replace(/\/$/, '');
  const provider = new Provider(
    config.issuer,
    providerConfiguration({
      config,
      jwks: { keys: [await generateSigningKey('ES256'), await generateSigningKey('RS256')] },
      cookieKeys: [randomBytes(32).toString('base64url')],
      adapter: createAdapterFactory(storage.models),
      findAccount: findAccountFor(storage.accounts),
      accounts: storage.accounts,
      pages: createPages({ issuer: config.issuer, assets: `${prefix}/assets` }),
      prefix,
    }),
  );
  // The grants the server has, so a client naming them is checked as the server checks it.
  if (config.trustedIdps.length) {
    registerIdJagGrant(provider, {
      issuer: config.issuer,
      idps: config.trustedIdps,
      resources: config.resources,
      accounts: storage.accounts,
      locks: storage.locks,
      audit: createLogger({ name: 'auth-server', level: 'silent', pretty: false }),
    });
  }
  registerTokenExchange(provider, {
    idJag: config.idJagTargets.length
      ? idJagExchangeHandler({
          issuer: config.issuer,
          targets: config.idJagTargets,
          keys: { keys: [] },
          accounts: storage.accounts,
          audit: createLogger({ name: 'auth-server', level: 'silent', pretty: false }),
        })
      : undefined,
    // This provider only checks clients and never answers a token request.
    vault: config.upstreams.some((upstream) => upstream.storeTokens)
      ? () => Promise.reject(new Error('the client-checking provider serves no token requests'))
      : undefined,
  });
  return provider;
}
