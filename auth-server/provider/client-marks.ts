/**
 * Our own marks on a stored client, kept apart from the code that enforces them so storage and
 * the CLI can name them without loading oidc-provider.
 */

/**
 * Client metadata property (boolean) marking the resource server's own confidential client: it
 * may introspect every client's tokens. Only the operator sets it (RS_CLIENT_ID/RS_CLIENT_SECRET
 * at start, or `npm run clients -- add --resource-server`): no registration, not even one with
 * the initial access token, and no RFC 7592 update can (client-policy.ts).
 */
export const RESOURCE_SERVER = 'resource_server';

/**
 * Payload key of a client the operator disabled (`npm run clients -- disable`). Not client
 * metadata: the adapter hides such a row (storage/adapter.ts), so oidc-provider never sees the
 * client and answers invalid_client, as for an unknown one.
 */
export const DISABLED = 'disabled';

/**
 * Client metadata property (boolean): the operator vouches for this client's name
 * (`npm run clients -- add --verified`), so the login, consent and device pages stop calling it
 * unverified. Dropped from /reg and URL client_ids; an RFC 7592 update keeps what the client had.
 */
export const VERIFIED = 'operator_verified';

/**
 * Client metadata property (array of resource URLs): the only resources this client's tokens
 * may be for (`npm run clients -- add --resource`). Set by the operator alone, like VERIFIED, so
 * a client cannot lift its own restriction through an update.
 */
export const ALLOWED_RESOURCES = 'allowed_resources';
