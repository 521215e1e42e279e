import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError, type OAuthClientProvider, type OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

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

export interface McpConnection {
  client: Client;
  transport: StreamableHTTPClientTransport | SSEClientTransport;
  close(): Promise<void>;
}

/** `streamable` (the default) or the legacy HTTP+SSE transport (protocol 2024-11-05, `…/sse`). */
export type TransportKind = 'streamable' | 'sse';

function newTransport(url: string, provider: TestOAuthProvider, kind: TransportKind): StreamableHTTPClientTransport | SSEClientTransport {
  const options = { authProvider: provider, fetch: provider.fetch };
  return kind === 'sse' ? new SSEClientTransport(new URL(url), options) : new StreamableHTTPClientTransport(new URL(url), options);
}

/** Checks the callback like a real client: our state back, then the code (or the error). */
function codeFrom(callback: URL, provider: TestOAuthProvider): string {
  if (callback.searchParams.get('state') !== provider.lastState) throw new Error(`state mismatch in ${callback.href}`);
  if (callback.searchParams.has('error')) throw new AuthorizationError(callback);
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in ${callback.href}`);
  return code;
}

async function completeAuthorization(
  transport: McpConnection['transport'],
  provider: TestOAuthProvider,
  authorize: Authorize,
): Promise<void> {
  const url = provider.authorizationUrls.at(-1);
  if (!url) throw new Error('the SDK did not ask for an authorization');
  await transport.finishAuth(codeFrom(await authorize(url), provider));
}

/**
 * Connects the SDK client to the MCP server the way an MCP application does: the first request
 * gets 401, the SDK discovers, registers and asks the user to authorize (`authorize` plays the
 * user), the code is exchanged (finishAuth), and a new connection carries the token. `kind`
 * 'sse' connects the legacy SSEClientTransport to an `…/sse` URL instead.
 */
export async function connect(
  mcpUrl: string,
  provider: TestOAuthProvider,
  authorize: Authorize,
  kind: TransportKind = 'streamable',
): Promise<McpConnection> {
  const first = newTransport(mcpUrl, provider, kind);
  const probe = new Client({ name: 'e2e-client', version: '1.0.0' });
  try {
    await probe.connect(first);
    return { client: probe, transport: first, close: () => probe.close() };
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
  }
  try {
    await completeAuthorization(first, provider, authorize);
  } finally {
    await first.close();
  }
  const transport = newTransport(mcpUrl, provider, kind);
  const client = new Client({ name: 'e2e-client', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport, close: () => client.close() };
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
    if (!(error instanceof UnauthorizedError)) throw error;
  }
  await completeAuthorization(connection.transport, provider, authorize);
  return (await connection.client.callTool({ name, arguments: args })) as CallToolResult;
}

/** The text of a tool result's first content block. */
export function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === 'text' ? first.text : '';
}
