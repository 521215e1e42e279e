import { randomBytes } from 'node:crypto';
import {
  Client,
  SSEClientTransport,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type CallToolResult,
  type FetchLike,
  type OAuthClientInformationMixed,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type OAuthTokens,
} from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError as V1UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport as V1StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

/** Plays the user in a browser: opens the authorization URL and resolves with the URL the browser was sent back to. */
export type Authorize = (authorizationUrl: URL) => Promise<URL>;

/** The authorization server sent the browser back with `error=…` instead of a code. */
export class AuthorizationError extends Error {
  readonly error: string;
  readonly callback: URL;
  constructor(callback: URL) {
    super(`authorization failed: ${callback.searchParams.get('error')} (${callback.searchParams.get('error_description') ?? ''})`);
    this.error = callback.searchParams.get('error') ?? '';
    this.callback = callback;
  }
}

/**
 * An in-memory OAuthClientProvider for the MCP SDK client, like a CLI would keep on disk. The SDK
 * does discovery, registration (or a URL client_id), PKCE, `resource` and refresh itself; this
 * class only stores what the SDK hands it, and records what happened so tests can assert on it.
 */
export class TestOAuthProvider implements OAuthClientProvider {
  readonly redirectUrl: string;
  readonly clientMetadata: OAuthClientMetadata;
  readonly clientMetadataUrl: string | undefined;
  /** Every authorization URL the SDK asked the user to open. */
  readonly authorizationUrls: URL[] = [];
  /** grant_type of every request the SDK sent to a token endpoint, in order. */
  readonly tokenGrants: string[] = [];
  /** Dynamic registration requests the SDK sent. */
  registrations = 0;
  #client: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier: string | undefined;
  #state: string | undefined;
  #discovery: OAuthDiscoveryState | undefined;
  #hideRefreshToken = false;

  constructor(options: { redirectUrl: string; clientMetadata?: Partial<OAuthClientMetadata>; clientMetadataUrl?: string }) {
    this.redirectUrl = options.redirectUrl;
    this.clientMetadataUrl = options.clientMetadataUrl;
    this.clientMetadata = {
      client_name: 'Example MCP client',
      redirect_uris: [options.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...options.clientMetadata,
    };
  }

  state(): string {
    this.#state = randomBytes(12).toString('base64url');
    return this.#state;
  }
  get lastState(): string | undefined {
    return this.#state;
  }
  clientInformation() {
    return this.#client;
  }
  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.#client = info;
  }
  tokens(): OAuthTokens | undefined {
    if (this.#tokens && this.#hideRefreshToken) {
      const { refresh_token: _hidden, ...rest } = this.#tokens;
      return rest;
    }
    return this.#tokens;
  }
  /** The tokens as stored, refresh token included. */
  get storedTokens(): OAuthTokens | undefined {
    return this.#tokens;
  }
  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens;
    this.#hideRefreshToken = false;
  }
  redirectToAuthorization(url: URL): void {
    this.authorizationUrls.push(url);
  }
  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }
  codeVerifier(): string {
    if (!this.#verifier) throw new Error('no code verifier saved');
    return this.#verifier;
  }
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discovery = state;
  }
  discoveryState() {
    return this.#discovery;
  }
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'client') this.#client = undefined;
    if (scope === 'all' || scope === 'tokens') this.#tokens = undefined;
    if (scope === 'all' || scope === 'verifier') this.#verifier = undefined;
    if (scope === 'all' || scope === 'discovery') this.#discovery = undefined;
  }

  /**
   * Makes the stored access token one the resource server must reject (its signature no longer
   * matches), as an expired or revoked token would be: the next call gets 401 invalid_token.
   */
  spoilAccessToken(): void {
    if (!this.#tokens) throw new Error('no tokens to spoil');
    const [header, payload, signature] = this.#tokens.access_token.split('.');
    const flipped = `${signature!.startsWith('A') ? 'B' : 'A'}${signature!.slice(1)}`;
    this.#tokens = { ...this.#tokens, access_token: `${header}.${payload}.${flipped}` };
  }

  /**
   * The fetch the SDK transport uses: records token and registration requests, and works around
   * MCP SDK 1.32.2's step-up bug (typescript-sdk #2255): on 403 insufficient_scope the SDK calls
   * auth(), which refreshes when a refresh token is stored (same scope → same 403 → "Server
   * returned 403 after trying upscoping") instead of starting a new authorization. Like the
   * upstream fix (PR #2356), the refresh token is hidden from the SDK until new tokens are saved.
   */
  readonly fetch: FetchLike = async (url, init) => {
    const target = new URL(String(url));
    if (init?.method === 'POST' && target.pathname.endsWith('/token')) {
      this.tokenGrants.push(new URLSearchParams(String(init.body)).get('grant_type') ?? '');
    }
    if (init?.method === 'POST' && target.pathname.endsWith('/reg')) this.registrations++;
    const response = await fetch(url, init);
    if (response.status === 403 && /error="insufficient_scope"/.test(response.headers.get('www-authenticate') ?? '')) {
      this.#hideRefreshToken = true;
    }
    return response;
  };
}

/** What both SDK generations' clients and transports offer that the tests use. */
interface AnyClient {
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
  listTools(): Promise<{ tools: { name: string }[] }>;
  getServerVersion(): { name: string; version: string } | undefined;
  close(): Promise<void>;
}
interface AnyTransport {
  /** `iss` of the callback (RFC 9207): the v2 SDK checks it against the recorded issuer, as 2026-07-28 requires. */
  finishAuth(code: string, iss?: string): Promise<void>;
  close(): Promise<void>;
}

export interface McpConnection {
  client: AnyClient;
  transport: AnyTransport;
  /** The protocol revision the connection speaks. */
  revision: string;
  close(): Promise<void>;
}

/**
 * How to connect:
 * - `modern` (the default): the v2 SDK client on Streamable HTTP, pinned to 2026-07-28 (no
 *   initialize, no session; every request carries its token and `_meta`).
 * - `v1`: the v1 SDK client (@modelcontextprotocol/sdk 1.x), 2025-11-25 with a session, as
 *   deployed clients are today.
 * - `sse`: the legacy HTTP+SSE transport (protocol 2024-11-05) of the v2 SDK, to an `…/sse` URL.
 */
export type TransportKind = 'modern' | 'v1' | 'sse';

function newConnection(url: string, provider: TestOAuthProvider, kind: TransportKind) {
  const info = { name: 'e2e-client', version: '1.0.0' };
  const options = { authProvider: provider, fetch: provider.fetch };
  if (kind === 'v1') {
    // The v1 SDK's provider interface differs only in types the tests never touch.
    const v1Options = options as unknown as ConstructorParameters<typeof V1StreamableHTTPClientTransport>[1];
    const transport = new V1StreamableHTTPClientTransport(new URL(url), v1Options);
    const client = new V1Client(info);
    return { client, transport, open: () => client.connect(transport), revision: () => transport.protocolVersion ?? '' };
  }
  if (kind === 'sse') {
    const transport = new SSEClientTransport(new URL(url), options);
    const client = new Client(info);
    return { client, transport, open: () => client.connect(transport), revision: () => client.getNegotiatedProtocolVersion() ?? '' };
  }
  const transport = new StreamableHTTPClientTransport(new URL(url), options);
  const client = new Client(info, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  return { client, transport, open: () => client.connect(transport), revision: () => client.getNegotiatedProtocolVersion() ?? '' };
}

function isUnauthorized(error: unknown): boolean {
  return error instanceof UnauthorizedError || error instanceof V1UnauthorizedError;
}

/** Checks the callback like a real client: our state back, then the code (or the error). */
function codeFrom(callback: URL, provider: TestOAuthProvider): string {
  if (callback.searchParams.get('state') !== provider.lastState) throw new Error(`state mismatch in ${callback.href}`);
  if (callback.searchParams.has('error')) throw new AuthorizationError(callback);
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in ${callback.href}`);
  return code;
}

async function completeAuthorization(transport: AnyTransport, provider: TestOAuthProvider, authorize: Authorize): Promise<void> {
  const url = provider.authorizationUrls.at(-1);
  if (!url) throw new Error('the SDK did not ask for an authorization');
  const callback = await authorize(url);
  await transport.finishAuth(codeFrom(callback, provider), callback.searchParams.get('iss') ?? undefined);
}

/**
 * Connects the SDK client to the MCP server the way an MCP application does: the first request
 * gets 401, the SDK discovers, registers and asks the user to authorize (`authorize` plays the
 * user), the code is exchanged (finishAuth), and a new connection carries the token. See
 * TransportKind for which client and revision.
 */
export async function connect(
  mcpUrl: string,
  provider: TestOAuthProvider,
  authorize: Authorize,
  kind: TransportKind = 'modern',
): Promise<McpConnection> {
  const first = newConnection(mcpUrl, provider, kind);
  try {
    await first.open();
    return { client: first.client, transport: first.transport, revision: first.revision(), close: () => first.client.close() };
  } catch (error) {
    if (!isUnauthorized(error)) throw error;
  }
  try {
    await completeAuthorization(first.transport, provider, authorize);
  } finally {
    await first.transport.close();
  }
  const second = newConnection(mcpUrl, provider, kind);
  await second.open();
  return { client: second.client, transport: second.transport, revision: second.revision(), close: () => second.client.close() };
}

/**
 * Calls a tool; when the SDK stops for a new authorization (a 403 insufficient_scope step-up),
 * lets the user authorize, finishes it and calls again.
 */
export async function callTool(
  connection: McpConnection,
  provider: TestOAuthProvider,
  authorize: Authorize,
  name: string,
  args: Record<string, unknown> = {},
): Promise<CallToolResult> {
  try {
    return (await connection.client.callTool({ name, arguments: args })) as CallToolResult;
  } catch (error) {
    if (!isUnauthorized(error)) throw error;
  }
  await completeAuthorization(connection.transport, provider, authorize);
  return (await connection.client.callTool({ name, arguments: args })) as CallToolResult;
}

/** The text of a tool result's first content block. */
export function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === 'text' ? first.text : '';
}
