import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { ALLOWED_RESOURCES, RESOURCE_SERVER, VERIFIED } from './client-marks.ts';
import { refuseSymmetricUseOfHashedSecret } from './client-secret-hash.ts';
import { refuseSectorIdentifierInMetadataDocument } from './sector-identifier.ts';

export { RESOURCE_SERVER };

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
/** Enough for any real client (several ports, a few hosts); more is abuse of the storage. */
const MAX_REDIRECT_URIS = 20;
const MAX_URI_LENGTH = 2000;
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:', 'filesystem:']);
/** RFC 7523 JWT bearer: ID-JAGs from a trusted enterprise IdP (enterprise/id-jag-grant.ts). */
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** RFC 8693 token exchange: an ID token for an ID-JAG, or an MCP token for a kept upstream token (provider/token-exchange.ts). */
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** Grants whose tokens act for a user (an ID-JAG names its user too); the IdP or the user's consent decides the scope. */
const USER_GRANTS = ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code', JWT_BEARER];

type Metadata = Record<string, unknown>;

/**
 * oidc-provider's `extraClientMetadata`: runs on every client it builds (registered, stored,
 * or fetched as a metadata document) and enforces our client policy.
 *
 * ```ts source="./client-policy.examples.ts#clientPolicy"
 * const configuration: Configuration = {
 *   extraClientMetadata: clientPolicy(['mcp:tools', 'mcp:admin'], { registrationNeedsToken: false }),
 * };
 * ```
 */
export function clientPolicy(
  resourceScopes: readonly string[],
  options: { registrationNeedsToken: boolean; resources?: readonly string[] },
) {
  return {
    // `roles` is ours (client_credentials tokens carry it), and so are `resource_server`,
    // `operator_verified` and `allowed_resources` (client-marks.ts); listing a property is also
    // what makes oidc-provider call the validator.
    properties: ['roles', RESOURCE_SERVER, VERIFIED, ALLOWED_RESOURCES],
    validator(ctx: KoaContextWithOIDC | undefined, key: string, _value: unknown, metadata: Metadata) {
      // Called once per listed property; every check runs once, on the first.
      if (key !== 'roles') return;
      checkRoles(ctx, metadata, options.registrationNeedsToken);
      checkResourceServerMark(ctx, metadata);
      checkOperatorOnly(ctx, metadata, VERIFIED);
      checkOperatorOnly(ctx, metadata, ALLOWED_RESOURCES);
      checkVerifiedAndAllowedResources(metadata, options.resources);
      checkClientCredentials(ctx, metadata, options.registrationNeedsToken);
      checkConfidentialOnly(metadata, JWT_BEARER);
      checkConfidentialOnly(metadata, TOKEN_EXCHANGE);
      refuseSymmetricUseOfHashedSecret(metadata);
      refuseSectorIdentifierInMetadataDocument(metadata);
      loopbackClientsAreNative(metadata);
      checkRedirectUris(metadata, 'redirect_uris');
      checkRedirectUris(metadata, 'post_logout_redirect_uris');
      widenScope(metadata, resourceScopes);
    },
  };
}

/** True for a client the operator marked as a resource server. */
export function isResourceServerClient(client: { metadata(): Metadata } | undefined): boolean {
  return client?.metadata()[RESOURCE_SERVER] === true;
}

/**
 * /reg and URL client_ids are what strangers control: there the mark is dropped (RFC 7591 lets a
 * server replace what it does not grant); an update keeps what the client had. Stored clients
 * (the operator's, built without a request) keep theirs.
 */
function checkResourceServerMark(ctx: KoaContextWithOIDC | undefined, metadata: Metadata): void {
  const route = ctx?.oidc?.route;
  if (route === 'client_update') {
    const current = (ctx!.oidc.client?.metadata() as Metadata | undefined)?.[RESOURCE_SERVER];
    if (current === undefined) delete metadata[RESOURCE_SERVER];
    else metadata[RESOURCE_SERVER] = current;
  }
  if (route === 'registration' || isUrl(metadata.client_id)) delete metadata[RESOURCE_SERVER];
  const mark = metadata[RESOURCE_SERVER];
  if (mark === undefined) return;
  if (typeof mark !== 'boolean') throw new errors.InvalidClientMetadata(`${RESOURCE_SERVER} must be a boolean`);
  if (metadata.token_endpoint_auth_method === 'none') {
    throw new errors.InvalidClientMetadata(`a ${RESOURCE_SERVER} client must be confidential (it authenticates to introspect)`);
  }
}

/**
 * A mark only the operator sets (`npm run clients -- add`): /reg and URL client_ids lose it, an
 * RFC 7592 update keeps what the client had, so a client can neither vouch for its own name nor
 * lift its own resource restriction.
 */
function checkOperatorOnly(ctx: KoaContextWithOIDC | undefined, metadata: Metadata, property: string): void {
  const route = ctx?.oidc?.route;
  if (route === 'client_update') {
    const current = (ctx!.oidc.client?.metadata() as Metadata | undefined)?.[property];
    if (current === undefined) delete metadata[property];
    else metadata[property] = current;
  }
  if (route === 'registration' || isUrl(metadata.client_id)) delete metadata[property];
}

function checkVerifiedAndAllowedResources(metadata: Metadata, known: readonly string[] | undefined): void {
  const verified = metadata[VERIFIED];
  if (verified !== undefined && typeof verified !== 'boolean') throw new errors.InvalidClientMetadata(`${VERIFIED} must be a boolean`);
  const allowed = metadata[ALLOWED_RESOURCES];
  if (allowed === undefined) return;
  if (!Array.isArray(allowed) || allowed.length === 0 || !allowed.every((r) => typeof r === 'string')) {
    throw new errors.InvalidClientMetadata(`${ALLOWED_RESOURCES} must be a non-empty array of resource URLs`);
  }
  const unknown = known ? allowed.filter((r) => !known.includes(r)) : [];
  if (unknown.length) throw new errors.InvalidClientMetadata(`${ALLOWED_RESOURCES}: unknown resource ${unknown.join(', ')}`);
}

/**
 * OAuth 2.1 §4.2: client credentials are for confidential clients only, and a token without a
 * user is worth having only when someone answers for the client. So:
 * - a public client (`none`) never has the grant, wherever it comes from (also a stored row);
 * - open registration (no initial access token) and URL client_ids never get it: anyone can make
 *   those, and a key or secret they chose themselves proves nothing about who they are;
 * - an RFC 7592 update cannot add it to a client that did not have it.
 * Machine clients come from the operator: `npm run clients -- add`, or registration with the
 * initial access token.
 */
function checkClientCredentials(ctx: KoaContextWithOIDC | undefined, metadata: Metadata, registrationNeedsToken: boolean): void {
  if (!Array.isArray(metadata.grant_types) || !metadata.grant_types.includes('client_credentials')) return;
  const route = ctx?.oidc?.route;
  if (metadata.token_endpoint_auth_method === 'none') {
    throw new errors.InvalidClientMetadata(
      'client_credentials is only for confidential clients: a public client (token_endpoint_auth_method none) cannot have it',
    );
  }
  if ((route === 'registration' && !registrationNeedsToken) || isUrl(metadata.client_id)) {
    throw new errors.InvalidClientMetadata(
      'client_credentials cannot be self-registered: machine clients are created by the operator of this server',
    );
  }
  if (route === 'client_update') {
    const current = (ctx!.oidc.client?.metadata() as Metadata | undefined)?.grant_types;
    if (!Array.isArray(current) || !current.includes('client_credentials')) {
      throw new errors.InvalidClientMetadata(
        'client_credentials cannot be added by an update: machine clients are created by the operator of this server',
      );
    }
  }
}

/**
 * An ID-JAG names the client it was issued to (`client_id`): only a client that proves it is that
 * client (a secret or private_key_jwt) may redeem one (jwt-bearer), or a stolen grant would be as
 * good as a token; the same holds for the ID token it is made from (token exchange). Unlike
 * client_credentials, open registration and URL client_ids may have them: the grant itself is
 * the enterprise IdP's decision, and the token acts for the user it names.
 */
function checkConfidentialOnly(metadata: Metadata, grant: string): void {
  if (!Array.isArray(metadata.grant_types) || !metadata.grant_types.includes(grant)) return;
  if (metadata.token_endpoint_auth_method === 'none') {
    throw new errors.InvalidClientMetadata(
      `${grant} is only for confidential clients: a public client (token_endpoint_auth_method none) cannot have it`,
    );
  }
}

/**
 * Roles grant privileges, so a client may only carry them when an operator registered it
 * (registration behind an initial access token), never by open self-registration, by URL, or by
 * updating itself through RFC 7592 (an update keeps whatever roles the client had).
 */
function checkRoles(ctx: KoaContextWithOIDC | undefined, metadata: Metadata, registrationNeedsToken: boolean): void {
  const route = ctx?.oidc?.route;
  if (route === 'client_update') {
    const current = (ctx!.oidc.client?.metadata() as Metadata | undefined)?.roles;
    if (current === undefined) delete metadata.roles;
    else metadata.roles = current;
  }
  if (metadata.roles === undefined) return;
  if ((route === 'registration' && !registrationNeedsToken) || isUrl(metadata.client_id)) {
    delete metadata.roles;
    return;
  }
  if (!Array.isArray(metadata.roles) || !metadata.roles.every((r) => typeof r === 'string' && /^[\w.:-]{1,64}$/.test(r))) {
    throw new errors.InvalidClientMetadata('roles must be an array of role names');
  }
}

/**
 * A client whose redirect URIs are all loopback http runs on the user's machine: it is a native
 * app (RFC 8252), whatever it said. Many MCP clients register `http://127.0.0.1/callback` without
 * `application_type` (so oidc-provider's default `web`) and then listen on a random port;
 * oidc-provider applies the any-port loopback match (RFC 8252 §7.3) to native clients only.
 * Runs on stored clients and metadata documents too, so earlier registrations work as well.
 * Anything but `web` is left for oidc-provider to accept (`native`) or refuse.
 */
function loopbackClientsAreNative(metadata: Metadata): void {
  if (metadata.application_type !== undefined && metadata.application_type !== 'web') return;
  const uris = metadata.redirect_uris;
  if (!Array.isArray(uris) || uris.length === 0 || !uris.every(isLoopbackHttp)) return;
  metadata.application_type = 'native';
}

function isLoopbackHttp(uri: unknown): boolean {
  const url = typeof uri === 'string' ? URL.parse(uri) : null;
  return url?.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * https anywhere; plain http only on loopback (any port, RFC 8252 §7.3), for web and native
 * clients alike; native apps may also use private-use schemes, never script-capable ones.
 * InvalidClientMetadata, not InvalidRedirectUri: only the former carries our description (as
 * `invalid_redirect_uri` when it starts with "redirect_uris", RFC 7591 §3.2.2).
 */
function checkRedirectUris(metadata: Metadata, property: string): void {
  const uris = metadata[property];
  if (!Array.isArray(uris)) return; // oidc-provider reports the type error itself
  if (uris.length > MAX_REDIRECT_URIS) throw new errors.InvalidClientMetadata(`${property} may list at most ${MAX_REDIRECT_URIS} URIs`);
  for (const uri of uris) {
    if (typeof uri !== 'string') continue;
    if (uri.length > MAX_URI_LENGTH)
      throw new errors.InvalidClientMetadata(`${property} entries must be at most ${MAX_URI_LENGTH} characters`);
    const url = URL.parse(uri);
    if (!url) throw new errors.InvalidClientMetadata(`${property} must only contain valid URLs`);
    if (FORBIDDEN_SCHEMES.has(url.protocol)) {
      throw new errors.InvalidClientMetadata(`${property} must not use the ${url.protocol} scheme`);
    }
    if (url.protocol === 'https:') continue;
    if (url.protocol === 'http:') {
      if (LOOPBACK_HOSTS.has(url.hostname)) continue;
      throw new errors.InvalidClientMetadata(
        `${property}: http is only allowed on loopback (localhost, 127.0.0.1, [::1]); use https for ${url.host}`,
      );
    }
    if (metadata.application_type === 'native') continue;
    throw new errors.InvalidClientMetadata(
      `${property}: ${url.protocol} is a private-use scheme, which only native apps may use: register with application_type "native" (web clients use https, or http on loopback)`,
    );
  }
}

/**
 * MCP clients register with the scope of their first 401 challenge and later step up; the user's
 * consent and roles decide what is granted, so a client acting for users may ask for any scope the
 * resource servers publish. client_credentials-only clients keep exactly what they registered.
 */
function widenScope(metadata: Metadata, resourceScopes: readonly string[]): void {
  if (typeof metadata.scope !== 'string') return;
  const grants = Array.isArray(metadata.grant_types) ? metadata.grant_types : ['authorization_code'];
  if (!grants.some((g) => USER_GRANTS.includes(g as string))) return;
  const scopes = new Set(metadata.scope.split(' ').filter(Boolean));
  for (const scope of resourceScopes) scopes.add(scope);
  metadata.scope = [...scopes].join(' ');
}

function isUrl(value: unknown): boolean {
  return typeof value === 'string' && /^https?:\/\//.test(value);
}
