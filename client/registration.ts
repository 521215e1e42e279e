import { readFile } from 'node:fs/promises';
import { importPKCS8 } from 'jose';
import * as oauth from 'oauth4webapi';
import { CliError } from './http.ts';
import type { ClientRecord, Store } from './store.ts';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const CLIENT_NAME = 'mcp-oauth command-line client';

export interface RegistrationOptions {
  clientId?: string;
  clientSecret?: string;
  /** A PKCS#8 PEM private key file: the client authenticates with private_key_jwt. */
  clientKeyFile?: string;
  signingAlgorithm?: string;
  clientMetadataUrl?: string;
  /** Grants the client will use (device_code for --device). */
  wantsDevice: boolean;
  /** Forget a cached registration first (the AS said invalid_client). */
  fresh?: boolean;
}

/**
 * Which client we are at this AS, in the MCP 2026-07-28 order: a pre-registered client id,
 * then a Client ID Metadata Document when the AS supports them and we were given its URL,
 * then dynamic registration (RFC 7591), else an error that says what to pass.
 * Registrations are cached per issuer so the next login does not register again.
 */
export async function clientFor(
  as: oauth.AuthorizationServer,
  options: RegistrationOptions,
  store: Store,
  fetchImpl: typeof fetch,
): Promise<ClientRecord> {
  if (options.clientId && options.clientKeyFile) {
    return {
      issuer: as.issuer,
      client_id: options.clientId,
      token_endpoint_auth_method: 'private_key_jwt',
      private_key_file: options.clientKeyFile,
      signing_algorithm: options.signingAlgorithm,
      kind: 'pre-registered',
    };
  }
  if (options.clientId) {
    return {
      issuer: as.issuer,
      client_id: options.clientId,
      client_secret: options.clientSecret,
      token_endpoint_auth_method: options.clientSecret ? secretMethod(as) : 'none',
      kind: 'pre-registered',
    };
  }
  if (options.clientMetadataUrl && as.client_id_metadata_document_supported === true) {
    return { issuer: as.issuer, client_id: options.clientMetadataUrl, token_endpoint_auth_method: 'none', kind: 'cimd' };
  }
  if (options.fresh) await store.forgetClient(as.issuer);
  const cached = await store.getClient(as.issuer);
  if (cached?.kind === 'dcr' && (!options.wantsDevice || cached.grant_types?.includes(DEVICE_GRANT))) return cached;

  if (!as.registration_endpoint)
    throw new CliError(
      `${as.issuer} offers no dynamic client registration${as.client_id_metadata_document_supported ? ' (it accepts client metadata documents: pass --client-metadata-url URL)' : ''}: pass --client-id (and --client-secret) of a client registered there`,
    );

  const deviceSupported = !!as.device_authorization_endpoint;
  const grantTypes = ['authorization_code', 'refresh_token', ...(deviceSupported || options.wantsDevice ? [DEVICE_GRANT] : [])];
  const metadata = {
    client_name: CLIENT_NAME,
    application_type: 'native',
    // Loopback redirect without a port: native clients may use any port (RFC 8252 §7.3).
    redirect_uris: ['http://127.0.0.1/callback'],
    grant_types: grantTypes,
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };
  // Plain JSON over our fetch rather than oauth4webapi's DCR helpers: those refuse answers that
  // omit client_secret_expires_at, which deployed servers (and the conformance mocks) do.
  const response = await fetchImpl(as.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(metadata),
  });
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!response.ok || typeof body?.client_id !== 'string') {
    const reason =
      typeof body?.error === 'string'
        ? `${body.error}${body.error_description ? `: ${String(body.error_description)}` : ''}`
        : `HTTP ${response.status}`;
    throw new CliError(`client registration at ${as.issuer} failed: ${reason}`);
  }
  const registered = body as { client_id: string } & Record<string, unknown>;
  const record: ClientRecord = {
    issuer: as.issuer,
    client_id: registered.client_id,
    client_secret: typeof registered.client_secret === 'string' ? registered.client_secret : undefined,
    token_endpoint_auth_method:
      typeof registered.token_endpoint_auth_method === 'string'
        ? registered.token_endpoint_auth_method
        : typeof registered.client_secret === 'string'
          ? 'client_secret_basic'
          : 'none',
    kind: 'dcr',
    grant_types: Array.isArray(registered.grant_types) ? (registered.grant_types as string[]) : grantTypes,
  };
  await store.saveClient(record);
  return record;
}

/** client_secret_basic unless the AS only lists client_secret_post. */
function secretMethod(as: oauth.AuthorizationServer): string {
  const methods = as.token_endpoint_auth_methods_supported;
  if (methods && !methods.includes('client_secret_basic') && methods.includes('client_secret_post')) return 'client_secret_post';
  return 'client_secret_basic';
}

/** oauth4webapi's client authentication for a record. */
export function clientAuth(client: ClientRecord): oauth.ClientAuth {
  switch (client.token_endpoint_auth_method) {
    case 'client_secret_basic':
      return basicAuth(client.client_id, client.client_secret ?? '');
    case 'client_secret_post':
      return oauth.ClientSecretPost(client.client_secret ?? '');
    case 'none':
      return oauth.None();
    case 'private_key_jwt': {
      const file = client.private_key_file;
      if (!file) throw new CliError('private_key_jwt needs --client-key FILE (a PKCS#8 PEM private key)');
      // A signed client assertion (RFC 7523) made by oauth4webapi with jose's key import: no hand-made JOSE.
      return async (as, c, body, headers) => {
        const pem = await readFile(file, 'utf8').catch((error: Error) => {
          throw new CliError(`cannot read the client key ${file}: ${error.message}`);
        });
        const alg = client.signing_algorithm ?? 'ES256';
        const key = await importPKCS8(pem, alg).catch((error: Error) => {
          throw new CliError(`the client key ${file} is not a PKCS#8 ${alg} private key: ${error.message}`);
        });
        await oauth.PrivateKeyJwt({ key })(as, c, body, headers);
      };
    }
    default:
      throw new CliError(`the client's token_endpoint_auth_method ${client.token_endpoint_auth_method} is not supported by this client`);
  }
}

/**
 * client_secret_basic with RFC 6749 §2.3.1's form-urlencoding of id and secret (URLSearchParams'
 * encoding: '-', '.', '_' and '*' stay as they are). oauth4webapi's own ClientSecretBasic also
 * percent-encodes '-', which servers that skip the decoding step (the conformance mock among
 * them) then fail to match against the registered client_id.
 */
function basicAuth(clientId: string, clientSecret: string): oauth.ClientAuth {
  const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
  const credentials = Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64');
  return (_as, _client, _body, headers) => {
    headers.set('authorization', `Basic ${credentials}`);
  };
}

/** An OAuth error response as "error: description", anything else as its message. */
export function describeOAuthError(error: unknown): string {
  if (error instanceof oauth.ResponseBodyError) return `${error.error}${error.error_description ? `: ${error.error_description}` : ''}`;
  if (error instanceof oauth.AuthorizationResponseError)
    return `${error.error}${error.error_description ? `: ${error.error_description}` : ''}`;
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    // A 401 with a challenge (an unauthenticated client, RFC 6749 §5.2): its error, not the library's words.
    const challenge = error.cause.find((c) => c.parameters.error);
    if (!challenge) return error.message;
    const { error: code, error_description: description } = challenge.parameters;
    return `${code}${description ? `: ${description}` : ''}`;
  }
  return (error as Error)?.message ?? String(error);
}
