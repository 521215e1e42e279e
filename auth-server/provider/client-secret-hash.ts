import { createHash, timingSafeEqual } from 'node:crypto';
import { errors } from 'oidc-provider';
import type Provider from 'oidc-provider';

/**
 * Operator clients' secrets are stored hashed: `client_secret` holds `sha256$` and the base64url
 * SHA-256 of the secret, never the secret, so a copy of DATA_DIR or the database does not let
 * anyone authenticate as them. `$` is outside base64url, so no generated secret (ours or
 * oidc-provider's for /reg) can be mistaken for a hash.
 *
 * Why SHA-256 and not scrypt: slow hashes protect guessable secrets (passwords). These are 256
 * random bits (or RS_CLIENT_SECRET, at least 32 characters), so a preimage search costs 2^256
 * hashes whatever the hash's speed; a slow hash would only tax every /token request.
 */
const PREFIX = 'sha256$';

/** The stored form of a secret. */
export function hashClientSecret(secret: string): string {
  return `${PREFIX}${createHash('sha256').update(secret, 'utf8').digest('base64url')}`;
}

/** True for a stored `client_secret` that is a hash (hashClientSecret), false for a plain one. */
export function isHashedClientSecret(stored: unknown): stored is string {
  return typeof stored === 'string' && stored.startsWith(PREFIX);
}

/** Whether `presented` is the secret behind `stored`, in constant time (two 32-byte digests). */
export function hashedClientSecretMatches(stored: string, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  const expected = Buffer.from(stored.slice(PREFIX.length), 'base64url');
  const actual = createHash('sha256').update(presented, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * Teaches this provider's Client to compare hashed secrets: oidc-provider's
 * `Client#compareClientSecret` is what client_secret_basic and client_secret_post call
 * (lib/shared/client_auth.js). A plain stored secret (registered clients, whose secret RFC 7591
 * and RFC 7592 hand back; operator clients made before hashing) goes to oidc-provider's own
 * constant-time comparison.
 *
 * ```ts source="./client-secret-hash.examples.ts#compareHashedClientSecrets"
 * compareHashedClientSecrets(provider);
 * ```
 */
export function compareHashedClientSecrets(provider: Provider): void {
  const prototype = provider.Client.prototype as unknown as {
    clientSecret?: string;
    compareClientSecret(this: { clientSecret?: string }, actual: string): boolean | Promise<boolean>;
  };
  const compareAsStored = prototype.compareClientSecret;
  prototype.compareClientSecret = function compareClientSecret(actual) {
    if (isHashedClientSecret(this.clientSecret)) return hashedClientSecretMatches(this.clientSecret, actual);
    return compareAsStored.call(this, actual);
  };
}

/** What needs the plain secret as a key (oidc-provider derives HS* and AES keys from client_secret). */
const SYMMETRIC_ALG = /^(HS\d+|A\d+(GCM)?KW|A\d+(GCM|CBC-HS\d+)|dir)$/;
const ALG_PROPERTIES = [
  'id_token_signed_response_alg',
  'userinfo_signed_response_alg',
  'introspection_signed_response_alg',
  'authorization_signed_response_alg',
  'request_object_signing_alg',
  'token_endpoint_auth_signing_alg',
  'id_token_encrypted_response_alg',
  'id_token_encrypted_response_enc',
  'userinfo_encrypted_response_alg',
  'userinfo_encrypted_response_enc',
  'introspection_encrypted_response_alg',
  'introspection_encrypted_response_enc',
  'authorization_encrypted_response_alg',
  'authorization_encrypted_response_enc',
  'request_object_encryption_alg',
  'request_object_encryption_enc',
];

/**
 * A client whose secret is stored hashed cannot use anything that takes the plain secret as a
 * key: client_secret_jwt, HS* signing, symmetric encryption. oidc-provider would use the hash as
 * that key, which anyone holding the store could then forge with. Runs in the client policy on
 * every client oidc-provider builds; throws InvalidClientMetadata naming what to use instead.
 *
 * With this server's features (no request objects, encryption, JWT userinfo, introspection or
 * response modes) oidc-provider offers no HS* or AES algorithm but client_secret_jwt's, so what
 * this refuses is client_secret_jwt and a HS* ID token; the rest guards a feature turned on later.
 * A test asserts that a hashed client's symmetric key store stays empty (cli/clients.test.ts).
 */
export function refuseSymmetricUseOfHashedSecret(metadata: Record<string, unknown>): void {
  if (!isHashedClientSecret(metadata.client_secret)) return;
  if (metadata.token_endpoint_auth_method === 'client_secret_jwt') {
    throw new errors.InvalidClientMetadata(
      'client_secret_jwt needs the plain secret on the server, and this client’s secret is stored hashed: use private_key_jwt',
    );
  }
  for (const property of ALG_PROPERTIES) {
    const value = metadata[property];
    if (typeof value === 'string' && SYMMETRIC_ALG.test(value)) {
      throw new errors.InvalidClientMetadata(
        `${property} ${value} would use the client secret as a key, and this client’s secret is stored hashed: use an asymmetric algorithm`,
      );
    }
  }
}
