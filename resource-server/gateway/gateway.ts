import { setTimeout as delay } from 'node:timers/promises';
import {
  ProtocolError,
  ProtocolErrorCode,
  type McpServer,
  type ServerCapabilities,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { AUTHORIZATION_SERVER_SCOPES, TOOLS_SCOPE } from '../scopes.ts';
import { missingRoles, roleRefusal, type ToolPolicy } from '../tool-policy.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import {
  connectUpstream,
  UPSTREAM_REQUEST_TIMEOUT_MS,
  type Downstream,
  type DownstreamChannel,
  type ForwardOptions,
  type Upstream,
  type UpstreamConfig,
} from './upstream.ts';
import type { UpstreamJwt } from './upstream-jwt.ts';
import { UpstreamPool, type IdentityMode } from './upstream-pool.ts';

type Extra = ServerContext;
/** The SDK's low-level handler signature, loosely typed: results are forwarded as the upstream sent them. */
type LowLevelHandler = (request: { method: string; params?: Record<string, unknown> }, ctx: ServerContext) => Promise<never>;

export interface GatewayOptions {
  upstream: UpstreamConfig;
  identity: IdentityMode;
  idleTtlMs: number;
  policy?: ToolPolicy | undefined;
  /** The signer for MCP_UPSTREAM_IDENTITY=jwt (upstream-jwt.ts). */
  jwt?: UpstreamJwt | undefined;
  /** Tests replace the connection; production uses the SDK Client (upstream.ts). */
  connect?: typeof connectUpstream;
}

/** A ToolRegistry whose tools are an upstream server's; it applies MCP_TOOL_POLICY itself. */
export interface GatewayRegistry extends ToolRegistry {
  withPolicy(policy: ToolPolicy): GatewayRegistry;
  pool: UpstreamPool;
  /** With MCP_UPSTREAM_IDENTITY=jwt: the public keys of our upstream JWTs (served at UPSTREAM_JWKS_PATH). */
  upstreamJwks?: UpstreamJwt['jwks'] | undefined;
  /** Ends every upstream (the server shuts down). */
  close(): Promise<void>;
}

/**
 * Gateway mode: the resource server serves an upstream MCP server's tools, resources and prompts
 * instead of its own, behind everything it does (metadata, 401/403 challenges, per-tool scopes
 * by the policy, step-up, sessions and their caps). Each downstream McpServer forwards its
 * requests to its caller's own upstream (upstream-pool.ts) with the SDK's low-level handlers.
 *
 * Without a policy every upstream tool needs mcp:tools; with one, its scopes, roles and deny
 * decide (tools the caller can never use are left out of tools/list). Resources and prompts need
 * only a valid token for this resource.
 */
export function createGateway(options: GatewayOptions): GatewayRegistry {
  const pool = new UpstreamPool({
    upstream: options.upstream,
    identity: options.identity,
    idleTtlMs: options.idleTtlMs,
    jwt: options.jwt,
    connect: options.connect ?? connectUpstream,
  });
  return gatewayRegistry(pool, options.policy, options.jwt?.jwks);
}

function gatewayRegistry(
  pool: UpstreamPool,
  policy: ToolPolicy | undefined,
  upstreamJwks: UpstreamJwt['jwks'] | undefined,
): GatewayRegistry {
  const scopesFor = (name: string): readonly string[] => (policy ? policy.accessFor(name).scopes : [TOOLS_SCOPE]);
  const basic = policy ? policy.accessFor('\0no tool has this name\0').scopes : [TOOLS_SCOPE];
  // The upstream's capabilities, from the first connection (see advertised() in registerAll).
  const learned: { value?: Upstream['capabilities'] } = {};
  const usable = (name: string, auth: AuthOf) => {
    if (!policy) return true;
    const access = policy.accessFor(name);
    return !access.deny && missingRoles(access, auth).length === 0;
  };
  return {
    // The upstream's tools, filtered by the policy for each caller.
    listPerCaller: true,
    tools: [],
    scopes: [...new Set([...basic, ...(policy?.scopes ?? [])])].filter((scope) => !AUTHORIZATION_SERVER_SCOPES.has(scope)),
    basicScopes: basic.filter((scope) => !AUTHORIZATION_SERVER_SCOPES.has(scope)),
    scopesFor,
    pool,
    upstreamJwks,
    withPolicy: (next) => gatewayRegistry(pool, next, upstreamJwks),
    close: () => pool.closeAll(),
    registerAll(server: McpServer) {
      const low = server.server;
      // listChanged and logging: the upstream's notifications are passed on (upstream.ts); an
      // upstream that never sends them costs nothing.
      // Subscriptions and completions are registered so their handlers can be, but advertised only
      // when the upstream offers them (advertise() below).
      low.registerCapabilities({
        tools: { listChanged: true },
        resources: { listChanged: true, subscribe: true },
        prompts: { listChanged: true },
        logging: {},
        completions: {},
      });
      // Sessions this server served: their upstreams end with it. Without a session (stateless,
      // 2026-07-28 per request) the upstream is the caller's across requests and ends when idle.
      const sessions = new Set<string>();
      // The session an upstream talks back to: only with a session, since server-to-client
      // requests need one (stateless and 2026-07-28 requests have no way back).
      const session = (): Downstream => ({
        capabilities: low.getClientCapabilities() ?? {},
        request: (method, params, signal) =>
          (low.request as unknown as (request: object, options: object) => Promise<never>)(
            { method, ...(params ? { params } : {}) },
            { signal, timeout: UPSTREAM_REQUEST_TIMEOUT_MS },
          ),
        notify: (notification) => low.notification(notification),
      });
      const forward = (method: string, params: Record<string, unknown> | undefined, ctx: Extra, capability: Capability) => {
        if (ctx.sessionId) sessions.add(ctx.sessionId);
        return pool
          .with(
            ctx.sessionId ?? '',
            ctx.http?.authInfo,
            (upstream) => {
              learned.value ??= upstream.capabilities;
              return request(upstream, method, params, ctx, capability);
            },
            ctx.sessionId ? session : undefined,
          )
          .catch((error: unknown) => {
            if (error instanceof ProtocolError) throw error;
            // The connection failed (spawn, refused, the upstream's 401 to our JWT): say so, with the HTTP status.
            const status = (error as { data?: { status?: number } }).data?.status;
            throw new ProtocolError(
              ProtocolErrorCode.InternalError,
              `The upstream MCP server could not be reached${status ? ` (HTTP ${status})` : ''}: ${(error as Error).message}`,
            );
          });
      };
      const handle = (method: string, handler: LowLevelHandler) =>
        (low.setRequestHandler as unknown as (method: string, handler: LowLevelHandler) => void)(method, handler);

      // What we advertise follows the upstream: learned from this gateway's first connection (the
      // same program or URL for every caller), so only the very first session waits for one.
      const advertised = async (ctx: Extra): Promise<Upstream['capabilities'] | undefined> => {
        if (learned.value) return learned.value;
        if (ctx.sessionId) sessions.add(ctx.sessionId);
        const capabilities = pool
          .with(ctx.sessionId ?? '', ctx.http?.authInfo, async (upstream) => upstream.capabilities, ctx.sessionId ? session : undefined)
          .catch(() => undefined);
        // An upstream slow to start must not hold the client's initialize for MCP_UPSTREAM_TIMEOUT_MS.
        return Promise.race([capabilities, delay(ADVERTISE_WAIT_MS, undefined, { ref: false })]);
      };
      const low_ = low as unknown as {
        _oninitialize(request: object): Promise<{ capabilities: ServerCapabilities }>;
        _ondiscover(): { capabilities: ServerCapabilities };
      };
      handle('initialize', async (req, ctx) => {
        const result = await low_._oninitialize(req);
        return { ...result, capabilities: advertise(result.capabilities, await advertised(ctx), true) } as never;
      });
      // The 2026-07-28 entry installs its own server/discover handler (after us), without the
      // caller: it advertises what the gateway learned so far. No subscribe there: 2026-07-28 has
      // no way back for resources/updated.
      const discover = low_._ondiscover.bind(low);
      low_._ondiscover = () => {
        const result = discover();
        return { ...result, capabilities: advertise(result.capabilities, learned.value, false) };
      };

      handle('tools/list', async (req, ctx) => {
        const result = (await forward('tools/list', req.params, ctx, 'tools')) as { tools?: { name: string }[] };
        return { ...result, tools: (result.tools ?? []).filter((tool) => usable(tool.name, ctx.http?.authInfo)) } as never;
      });
      handle('tools/call', async (req, ctx) => {
        const name = String(req.params?.name);
        const access = policy?.accessFor(name);
        // Denied: exactly what an unknown tool gets, so the name leaks nothing.
        if (access?.deny) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Tool ${name} not found`);
        const missing = access ? missingRoles(access, ctx.http?.authInfo) : [];
        if (missing.length > 0) return roleRefusal(name, missing) as never;
        return (await forward('tools/call', req.params, ctx, 'tools')) as never;
      });
      const passThrough = [
        ['resources/list', 'resources'],
        ['resources/templates/list', 'resources'],
        ['resources/read', 'resources'],
        ['prompts/list', 'prompts'],
        ['prompts/get', 'prompts'],
      ] as const;
      for (const [method, capability] of passThrough) {
        handle(method, async (req, ctx) => (await forward(method, req.params, ctx, capability)) as never);
      }
      // Subscriptions live on the session's own upstream (one per session): its updates go back to
      // that session only (upstream.ts). Without a session there is no way back for them.
      for (const method of ['resources/subscribe', 'resources/unsubscribe']) {
        handle(method, async (req, ctx) => {
          if (!ctx.sessionId) throw noSubscriptions(method);
          return (await forward(method, req.params, ctx, 'resources.subscribe')) as never;
        });
      }
      // A prompt or resource the caller is not shown is not completable either: the reference must
      // be in what the gateway lists to this caller, whatever the upstream would answer.
      handle('completion/complete', async (req, ctx) => {
        const ref = (req.params?.ref ?? {}) as { type?: string; name?: string; uri?: string };
        const listed = async (method: string, key: string, field: string, by: string): Promise<string[]> => {
          const names: string[] = [];
          let cursor: string | undefined;
          for (let page = 0; page < MAX_PAGES; page++) {
            const result = (await forward(method, cursor ? { cursor } : undefined, ctx, key as Capability)) as Record<string, unknown>;
            for (const item of (result[field] ?? []) as Record<string, unknown>[]) names.push(String(item[by]));
            cursor = result.nextCursor as string | undefined;
            if (!cursor) break;
          }
          return names;
        };
        const visible =
          ref.type === 'ref/prompt'
            ? (await listed('prompts/list', 'prompts', 'prompts', 'name')).includes(String(ref.name))
            : ref.type === 'ref/resource'
              ? (await listed('resources/templates/list', 'resources', 'resourceTemplates', 'uriTemplate')).includes(String(ref.uri)) ||
                (await listed('resources/list', 'resources', 'resources', 'uri')).includes(String(ref.uri))
              : false;
        // Exactly what an unknown one gets, so the name leaks nothing.
        if (!visible)
          throw new ProtocolError(
            ProtocolErrorCode.InvalidParams,
            ref.type === 'ref/prompt' ? `Prompt ${String(ref.name)} not found` : `Resource ${String(ref.uri)} not found`,
          );
        return (await forward('completion/complete', req.params, ctx, 'completions')) as never;
      });
      // The client's log level is the upstream's to apply: it writes the log lines.
      handle('logging/setLevel', async (req, ctx) => (await forward('logging/setLevel', req.params, ctx, 'logging')) as never);
      const previous = low.onclose;
      low.onclose = () => {
        previous?.();
        for (const session of sessions) void pool.closeInstance(session);
      };
    },
  };
}

type Capability = 'tools' | 'resources' | 'prompts' | 'logging' | 'completions' | 'resources.subscribe';

/** How long the first initialize waits for an upstream to learn what to advertise. */
const ADVERTISE_WAIT_MS = 5_000;
/** Pages of a list read to check a completion's reference (an endless cursor must not loop). */
const MAX_PAGES = 50;

/** Offers the client subscriptions and completions only as far as the upstream does. */
function advertise(ours: ServerCapabilities, upstream: Upstream['capabilities'] | undefined, subscriptions: boolean): ServerCapabilities {
  const { completions, resources, ...rest } = ours;
  const { subscribe: _subscribe, ...resourcesRest } = resources ?? {};
  return {
    ...rest,
    resources: subscriptions && upstream?.resources?.subscribe ? { ...resourcesRest, subscribe: true } : resourcesRest,
    ...(upstream?.completions ? { completions } : {}),
  };
}

/** What a subscription without a session gets. */
function noSubscriptions(method: string): ProtocolError {
  return new ProtocolError(
    ProtocolErrorCode.InvalidRequest,
    `The gateway cannot pass ${method} on: resource updates need a downstream MCP session (2025-11-25, with Mcp-Session-Id) to reach the client; stateless and 2026-07-28 requests have no channel for them`,
  );
}

/** Whether the upstream declared a capability ("resources.subscribe": a flag inside resources). */
function offers(upstream: Upstream, capability: Capability): boolean {
  if (capability === 'resources.subscribe') return upstream.capabilities.resources?.subscribe === true;
  return Boolean(upstream.capabilities[capability]);
}
type AuthOf = NonNullable<ServerContext['http']>['authInfo'];

/** Lists of a kind the upstream does not offer are empty; anything else of that kind is "not found". */
const EMPTY_LISTS: Record<string, object> = {
  'tools/list': { tools: [] },
  'resources/list': { resources: [] },
  'resources/templates/list': { resourceTemplates: [] },
  'prompts/list': { prompts: [] },
};

async function request(
  upstream: Upstream,
  method: string,
  params: Record<string, unknown> | undefined,
  ctx: Extra,
  capability: Capability,
) {
  if (!offers(upstream, capability)) {
    const empty = EMPTY_LISTS[method];
    if (empty) return empty;
    // An upstream without logging writes no log lines: any level is fine.
    if (method === 'logging/setLevel') return {};
    const what = capability === 'resources.subscribe' ? 'resource subscriptions' : capability;
    throw new ProtocolError(ProtocolErrorCode.MethodNotFound, `The upstream MCP server offers no ${what}`);
  }
  // Progress goes out in order and before the result: the stream ends with the result.
  let notified: Promise<void> = Promise.resolve();
  const progressToken = (params?._meta as { progressToken?: string | number } | undefined)?.progressToken;
  const options: ForwardOptions = {
    signal: ctx.mcpReq.signal,
    channel: ctx.sessionId ? requestChannel(ctx) : undefined,
    ...(progressToken === undefined
      ? {}
      : {
          onprogress: (progress) => {
            notified = notified
              .then(() => ctx.mcpReq.notify({ method: 'notifications/progress', params: { ...progress, progressToken } }))
              .catch(() => undefined);
          },
        }),
  };
  try {
    const result = await upstream.request(method, params, options);
    await notified;
    return result;
  } catch (error) {
    if (upstream.ended) {
      const failure = upstream.failure;
      throw new ProtocolError(
        ProtocolErrorCode.InternalError,
        failure
          ? `${failure[0]!.toUpperCase()}${failure.slice(1)}; it was ended, and the next request starts a new one`
          : 'The upstream MCP server ended unexpectedly; the next request starts a new one',
      );
    }
    // The upstream's own JSON-RPC error (unknown tool, bad arguments): the client's to see.
    if (error instanceof ProtocolError) throw error;
    throw new ProtocolError(ProtocolErrorCode.InternalError, `The upstream MCP server failed: ${(error as Error).message}`);
  }
}

/** The downstream request's own stream: what the upstream asks during it reaches the client there. */
function requestChannel(ctx: Extra): DownstreamChannel {
  return {
    request: (method, params, signal) =>
      (ctx.mcpReq.send as unknown as (request: object, options: object) => Promise<never>)(
        { method, ...(params ? { params } : {}) },
        { signal: signal ?? ctx.mcpReq.signal, timeout: UPSTREAM_REQUEST_TIMEOUT_MS },
      ),
    notify: (notification) => ctx.mcpReq.notify(notification),
  };
}
