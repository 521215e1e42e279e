import { randomUUID } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { AUTHORIZATION_SERVER_SCOPES, TOOLS_SCOPE } from '../scopes.ts';
import { missingRoles, roleRefusal, type ToolPolicy } from '../tool-policy.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import { connectUpstream, type ForwardOptions, type Upstream, type UpstreamConfig } from './upstream.ts';
import { UpstreamPool, type IdentityMode } from './upstream-pool.ts';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface GatewayOptions {
  upstream: UpstreamConfig;
  identity: IdentityMode;
  idleTtlMs: number;
  policy?: ToolPolicy | undefined;
  /** Tests replace the connection; production uses the SDK Client (upstream.ts). */
  connect?: typeof connectUpstream;
}

/** A ToolRegistry whose tools are an upstream server's; it applies MCP_TOOL_POLICY itself. */
export interface GatewayRegistry extends ToolRegistry {
  withPolicy(policy: ToolPolicy): GatewayRegistry;
  pool: UpstreamPool;
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
    connect: options.connect ?? connectUpstream,
  });
  return gatewayRegistry(pool, options.policy);
}

function gatewayRegistry(pool: UpstreamPool, policy: ToolPolicy | undefined): GatewayRegistry {
  const scopesFor = (name: string): readonly string[] => (policy ? policy.accessFor(name).scopes : [TOOLS_SCOPE]);
  const basic = policy ? policy.accessFor('\0no tool has this name\0').scopes : [TOOLS_SCOPE];
  const usable = (name: string, auth: Extra['authInfo']) => {
    if (!policy) return true;
    const access = policy.accessFor(name);
    return !access.deny && missingRoles(access, auth).length === 0;
  };
  return {
    tools: [],
    scopes: [...new Set([...basic, ...(policy?.scopes ?? [])])].filter((scope) => !AUTHORIZATION_SERVER_SCOPES.has(scope)),
    basicScopes: basic.filter((scope) => !AUTHORIZATION_SERVER_SCOPES.has(scope)),
    scopesFor,
    pool,
    withPolicy: (next) => gatewayRegistry(pool, next),
    registerAll(server: McpServer) {
      const instance = randomUUID();
      const low = server.server;
      low.registerCapabilities({ tools: {}, resources: {}, prompts: {} });
      const forward = (
        method: string,
        params: Record<string, unknown> | undefined,
        extra: Extra,
        capability: 'tools' | 'resources' | 'prompts',
      ) => pool.with(instance, extra.authInfo, (upstream) => request(upstream, method, params, extra, capability));

      low.setRequestHandler(ListToolsRequestSchema, async (req, extra) => {
        const result = (await forward('tools/list', req.params, extra, 'tools')) as { tools?: { name: string }[] };
        return { ...result, tools: (result.tools ?? []).filter((tool) => usable(tool.name, extra.authInfo)) } as never;
      });
      low.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
        const name = req.params.name;
        const access = policy?.accessFor(name);
        // Denied: exactly what an unknown tool gets, so the name leaks nothing.
        if (access?.deny) throw new McpError(ErrorCode.InvalidParams, `Tool ${name} not found`);
        const missing = access ? missingRoles(access, extra.authInfo) : [];
        if (missing.length > 0) return roleRefusal(name, missing);
        return (await forward('tools/call', req.params, extra, 'tools')) as never;
      });
      const passThrough = [
        [ListResourcesRequestSchema, 'resources/list', 'resources'],
        [ListResourceTemplatesRequestSchema, 'resources/templates/list', 'resources'],
        [ReadResourceRequestSchema, 'resources/read', 'resources'],
        [ListPromptsRequestSchema, 'prompts/list', 'prompts'],
        [GetPromptRequestSchema, 'prompts/get', 'prompts'],
      ] as const;
      for (const [schema, method, capability] of passThrough) {
        low.setRequestHandler(
          schema as typeof ListResourcesRequestSchema,
          async (req, extra) => (await forward(method, req.params, extra, capability)) as never,
        );
      }
      const previous = low.onclose;
      low.onclose = () => {
        previous?.();
        void pool.closeInstance(instance);
      };
    },
  };
}

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
  extra: Extra,
  capability: 'tools' | 'resources' | 'prompts',
) {
  if (!upstream.capabilities[capability]) {
    const empty = EMPTY_LISTS[method];
    if (empty) return empty;
    throw new McpError(ErrorCode.MethodNotFound, `The upstream MCP server offers no ${capability}`);
  }
  // Progress goes out in order and before the result: the stream ends with the result.
  let notified: Promise<void> = Promise.resolve();
  const progressToken = (params?._meta as { progressToken?: string | number } | undefined)?.progressToken;
  const options: ForwardOptions = {
    signal: extra.signal,
    ...(progressToken === undefined
      ? {}
      : {
          onprogress: (progress) => {
            notified = notified
              .then(() => extra.sendNotification({ method: 'notifications/progress', params: { ...progress, progressToken } }))
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
      throw new McpError(ErrorCode.InternalError, 'The upstream MCP server ended unexpectedly; the next request starts a new one');
    }
    // The upstream's own JSON-RPC error (unknown tool, bad arguments): the client's to see.
    if (error instanceof McpError) throw error;
    throw new McpError(ErrorCode.InternalError, `The upstream MCP server failed: ${(error as Error).message}`);
  }
}
