import {
  Client,
  ProtocolError,
  ProtocolErrorCode,
  SdkError,
  SdkErrorCode,
  StreamableHTTPClientTransport,
  type ClientCapabilities,
  type Notification,
  type Progress,
  type RequestMethod,
  type Result,
  type Transport,
} from '@modelcontextprotocol/client';
import { SERVER_INFO } from '../mcp-server.ts';
import { CheckedStdioClientTransport, NotJsonRpcError } from './checked-stdio-transport.ts';

export interface ForwardOptions {
  signal: AbortSignal;
  onprogress?: ((progress: Progress) => void) | undefined;
  /**
   * The downstream request this one forwards: what the upstream asks or says while it runs
   * (sampling, elicitation, logging) goes back on its stream, where the client waits for it.
   */
  channel?: DownstreamChannel | undefined;
}

/** A way back to the downstream client: one request's stream, or its session's. */
export interface DownstreamChannel {
  request(method: string, params: Record<string, unknown> | undefined, signal?: AbortSignal): Promise<Result>;
  notify(notification: Notification): Promise<void>;
}

/**
 * The downstream MCP session an upstream belongs to (none without a session: stateless and
 * 2026-07-28 requests have no channel for server-to-client requests).
 */
export interface Downstream extends DownstreamChannel {
  /** What the downstream client declared at initialize: the upstream is told the same, no more. */
  capabilities: ClientCapabilities;
}

/** Server-to-client requests the gateway passes on, and the client capability each needs. */
const CLIENT_REQUESTS = [
  ['sampling/createMessage', 'sampling'],
  ['elicitation/create', 'elicitation'],
  ['roots/list', 'roots'],
] as const;

/** Upstream notifications passed on to the downstream session (progress has its own route). */
const SESSION_NOTIFICATIONS = [
  'notifications/message',
  'notifications/tools/list_changed',
  'notifications/resources/list_changed',
  'notifications/prompts/list_changed',
  // Only for what this session subscribed to: its own upstream saw only its subscriptions.
  'notifications/resources/updated',
] as const;

/**
 * How long one forwarded request may take unless MCP_UPSTREAM_TIMEOUT_MS says. The SDK's 60 s default is reset by progress only
 * through its own progress routing, which we replace (see connectUpstream), so allow long tools.
 */
export const UPSTREAM_REQUEST_TIMEOUT_MS = 10 * 60_000;

/** Where the gateway's upstream MCP server is (MCP_UPSTREAM_URL or MCP_UPSTREAM_COMMAND). */
export type UpstreamConfig = (
  | { kind: 'http'; url: string }
  | {
      kind: 'stdio';
      command: string;
      args: string[];
      /** Names of variables passed on from our environment, besides PATH and HOME. */
      env: string[];
    }
) & {
  /** MCP_UPSTREAM_TIMEOUT_MS: how long one request upstream (initialize included) may take. */
  timeoutMs?: number | undefined;
};

/** Who the gateway acts for, as much of it as MCP_UPSTREAM_IDENTITY passes on (never the token). */
export interface UpstreamIdentity {
  subject: string;
  clientId: string;
  scopes: readonly string[];
  roles: readonly string[];
}

/** One connection to the upstream, for one downstream session or one stateless caller. */
export interface Upstream {
  /**
   * Sends a request upstream and returns its result unchanged (no schema beyond JSON-RPC's);
   * `onprogress` receives the upstream's progress for it, all of it before this resolves.
   */
  request(method: string, params: Record<string, unknown> | undefined, options: ForwardOptions): Promise<Result>;
  /** What the upstream declared at initialize. */
  capabilities: { tools?: object; resources?: { subscribe?: boolean }; prompts?: object; logging?: object; completions?: object };
  /** Set when the connection ended without our close(): the upstream crashed or hung up. */
  readonly ended: boolean;
  /** Why it ended, when we know better than "unexpectedly" (it wrote something that is not JSON-RPC). */
  readonly failure?: string | undefined;
  close(): Promise<void>;
}

/**
 * The environment of a stdio upstream: PATH and HOME, the variables MCP_UPSTREAM_ENV names and,
 * with MCP_UPSTREAM_IDENTITY=env, the caller. Nothing else: our environment holds secrets
 * (RS_CLIENT_SECRET, DATABASE_URL…) that a third-party server must not see. The SDK adds its own
 * defaults (LOGNAME, SHELL, TERM, USER); an undefined value removes them (Node skips those).
 */
export function upstreamEnv(names: readonly string[], identity: UpstreamIdentity | undefined, from = process.env): Record<string, string> {
  const env: Record<string, string | undefined> = { LOGNAME: undefined, SHELL: undefined, TERM: undefined, USER: undefined };
  for (const name of ['PATH', 'HOME', ...names]) if (from[name] !== undefined) env[name] = from[name];
  // Not the scopes: a process's environment is fixed at its start, and a step-up later in the
  // same session changes them. The policy checks scopes before any call reaches the upstream.
  if (identity) {
    env.MCP_USER_SUB = identity.subject;
    env.MCP_CLIENT_ID = identity.clientId;
    env.MCP_ROLES = identity.roles.join(' ');
  }
  return env as Record<string, string>;
}

/**
 * fetch with our identity: headers (MCP_UPSTREAM_IDENTITY=headers) or our own JWT as the bearer
 * (jwt), replacing any of the same name (there are none from the client: it is our own request).
 */
function withIdentity(identity: IdentitySource): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    const current = identity.current;
    if (current && identity.jwt) headers.set('authorization', `Bearer ${await identity.jwt(current)}`);
    else if (current) for (const [name, value] of Object.entries(identityHeaders(current))) headers.set(name, value);
    return fetch(input, { ...init, headers });
  };
}

/** The headers an HTTP upstream gets with MCP_UPSTREAM_IDENTITY=headers: ours, made from the verified token. */
export function identityHeaders(identity: UpstreamIdentity): Record<string, string> {
  return {
    'x-mcp-user-sub': identity.subject,
    'x-mcp-client-id': identity.clientId,
    'x-mcp-scopes': identity.scopes.join(' '),
    'x-mcp-roles': identity.roles.join(' '),
  };
}

/** The caller of the request being forwarded; the pool updates it before each one (a step-up changes the scopes). */
export interface IdentitySource {
  current: UpstreamIdentity | undefined;
  /** With MCP_UPSTREAM_IDENTITY=jwt: signs a fresh JWT about the caller for each HTTP request. */
  jwt?: ((identity: UpstreamIdentity) => Promise<string>) | undefined;
}

/**
 * Connects to the upstream with the SDK's Client (initialize included). The connection is the
 * gateway's own: the downstream client's headers (Authorization, DPoP, X-MCP-*) are never on it;
 * with an identity the upstream learns the caller from what we verified: an HTTP upstream in
 * headers or our own short-lived JWT on each request, a stdio one in its environment at start.
 */
export async function connectUpstream(
  config: UpstreamConfig,
  identity: IdentitySource | undefined,
  downstream?: Downstream,
): Promise<Upstream> {
  const transport: Transport =
    config.kind === 'http'
      ? new StreamableHTTPClientTransport(new URL(config.url), identity ? { fetch: withIdentity(identity) } : {})
      : new CheckedStdioClientTransport({
          command: config.command,
          args: config.args,
          env: upstreamEnv(config.env, identity?.current),
          stderr: 'inherit',
        });
  // Only what the downstream client can answer: an upstream that sees no sampling capability
  // does not ask (and gets a clear refusal if it does, below).
  const offered: ClientCapabilities = {};
  for (const [, capability] of CLIENT_REQUESTS) {
    const declared = downstream?.capabilities[capability];
    if (declared) (offered as Record<string, unknown>)[capability] = declared;
  }
  const client = new Client({ name: `${SERVER_INFO.name}-gateway`, version: SERVER_INFO.version }, { capabilities: offered });
  let closing = false;
  let ended = false;
  client.onclose = () => {
    if (!closing) ended = true;
  };
  // Progress is routed here, not by the SDK's `onprogress`: SDK 1.32's client ran notification
  // handlers a microtask late but responses at once, so progress sent just before the result
  // (same chunk) reached a request already forgotten and was dropped ("unknown token"). Our
  // route outlives the result by a macrotask, whatever the SDK version does.
  const progressRoutes = new Map<string, (progress: Progress) => void>();
  let nextToken = 0;
  client.setNotificationHandler('notifications/progress', (notification) => {
    const { progressToken, ...progress } = notification.params;
    progressRoutes.get(String(progressToken))?.(progress);
  });
  // The forwarded requests in flight, latest last: what the upstream asks during a tool call goes
  // back on that call's stream (a stdio upstream does not say which call it is about, so with
  // several in flight the latest one carries it).
  const inFlight = new Set<DownstreamChannel>();
  const channel = (): DownstreamChannel | undefined => [...inFlight].at(-1) ?? downstream;
  for (const [method, capability] of CLIENT_REQUESTS) {
    if (!offered[capability]) continue;
    const handle = client.setRequestHandler.bind(client) as unknown as (
      method: string,
      handler: (request: { params?: Record<string, unknown> }, ctx: { mcpReq: { signal: AbortSignal } }) => Promise<Result>,
    ) => void;
    handle(method, async (request, ctx) => {
      // roots/list is about the session, not a call: ask on the session's own stream.
      const target = method === 'roots/list' ? downstream : channel();
      if (!target) throw noChannel(method);
      return target.request(method, request.params, ctx.mcpReq.signal);
    });
  }
  // Asked for what the downstream cannot answer (no session, or the client lacks the capability):
  // a clear refusal instead of the SDK's bare "Method not found".
  client.fallbackRequestHandler = async (request) => {
    if (CLIENT_REQUESTS.some(([method]) => method === request.method)) throw noChannel(request.method);
    throw new ProtocolError(ProtocolErrorCode.MethodNotFound, 'Method not found');
  };
  for (const method of SESSION_NOTIFICATIONS) {
    client.setNotificationHandler(method, (notification) => {
      // A log line belongs to the call that wrote it; list changes to the session.
      const target = method === 'notifications/message' ? channel() : downstream;
      // Without a session (stateless) there is nobody to tell: dropped.
      void target?.notify(notification as Notification).catch(() => undefined);
    });
  }
  const timeout = config.timeoutMs ?? UPSTREAM_REQUEST_TIMEOUT_MS;
  // What the transport could not read (a stdio program printing non-JSON-RPC to stdout, an HTTP
  // answer that is not MCP): named in the error when initialize then fails or times out.
  let unreadable: Error | undefined;
  let failure: string | undefined;
  client.onerror = (error) => {
    unreadable ??= error;
    // Not JSON-RPC on stdout: the transport ends the process, which fails what is pending at once.
    if (error instanceof NotJsonRpcError) failure ??= error.message;
  };
  try {
    await client.connect(transport, { timeout });
  } catch (error) {
    // Also ends a stdio process that started but never spoke MCP: nothing of it is kept.
    await client.close().catch(() => undefined);
    throw notMcp(error as Error, unreadable, timeout);
  }
  return {
    capabilities: client.getServerCapabilities() ?? {},
    get ended() {
      return ended;
    },
    get failure() {
      return failure;
    },
    async request(method, params, options) {
      // Never the downstream client's token: ours, unique on this connection (or none).
      const { progressToken: _theirs, ...meta } = (params?._meta ?? {}) as Record<string, unknown>;
      const token = options.onprogress ? `gateway-${++nextToken}` : undefined;
      if (token && options.onprogress) progressRoutes.set(token, options.onprogress);
      const forwarded = params ? { ...params, _meta: token ? { ...meta, progressToken: token } : meta } : undefined;
      if (options.channel) inFlight.add(options.channel);
      try {
        const result = (await client.request(
          { method: method as RequestMethod, ...(forwarded ? { params: forwarded } : {}) },
          { signal: options.signal, timeout },
        )) as Result;
        // Let the progress handlers queued before the result run first.
        await new Promise((resolve) => setImmediate(resolve));
        return result;
      } catch (error) {
        // The SDK has cancelled it upstream (notifications/cancelled); the connection stays usable.
        if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) throw timedOut(timeout);
        throw error;
      } finally {
        if (token) progressRoutes.delete(token);
        if (options.channel) inFlight.delete(options.channel);
      }
    },
    async close() {
      closing = true;
      await client.close();
    },
  };
}

/** What an upstream that asks without a session (or a capability) gets back. */
function noChannel(method: string): ProtocolError {
  return new ProtocolError(
    ProtocolErrorCode.InvalidRequest,
    `The gateway cannot pass ${method} on: it needs a downstream MCP session (2025-11-25, with Mcp-Session-Id) whose client declared that capability; stateless and 2026-07-28 requests have no channel for it`,
  );
}

function timedOut(timeout: number): Error {
  return new Error(`it did not answer within ${timeout} ms (MCP_UPSTREAM_TIMEOUT_MS); the request was cancelled upstream`);
}

/** Why connecting failed, in words the client can act on (the upstream's fault, not theirs). */
function notMcp(error: Error, unreadable: Error | undefined, timeout: number): Error {
  // It printed something else on stdout: the transport ended it at once, and that is the reason.
  if (unreadable instanceof NotJsonRpcError) return new Error(unreadable.message);
  const timeoutError = error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout;
  // A program that prints something else (or nothing) on stdout never answers initialize.
  const reason = timeoutError
    ? `it did not answer initialize within ${timeout} ms (MCP_UPSTREAM_TIMEOUT_MS); is it an MCP server?`
    : error.message;
  const described = new Error(
    unreadable && unreadable.message !== error.message ? `${reason}; it does not speak MCP: ${unreadable.message}` : reason,
  );
  // Keep the HTTP status the gateway reports (…could not be reached (HTTP 404)).
  return Object.assign(described, { data: (error as { data?: unknown }).data });
}
