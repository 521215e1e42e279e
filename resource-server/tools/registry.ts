import type { CallToolResult, McpServer, StandardSchemaWithJSON, ToolCallback } from '@modelcontextprotocol/server';
import { AUTHORIZATION_SERVER_SCOPES } from '../scopes.ts';
import { callerOf } from './caller.ts';

/** A tool together with what a caller needs to use it. */
export interface ToolDefinition {
  name: string;
  /** Scopes the access token must carry; checked before dispatch (HTTP 403 insufficient_scope). */
  requiredScopes: readonly string[];
  /** Roles the user must have; checked in the tool (a tool error names the missing role). */
  requiredRoles: readonly string[];
  /** Whether a token without a user (a machine client's) is refused; checked in the tool. */
  requiresUser: boolean;
  /** Adds the tool to an McpServer. */
  register(server: McpServer): void;
}

export interface ToolSpec<Shape extends StandardSchemaWithJSON | undefined> {
  name: string;
  title: string;
  description: string;
  /** A zod object (a Standard Schema): the v2 SDK no longer takes raw shapes without a warning. */
  inputSchema?: Shape;
  requiredScopes: readonly string[];
  requiredRoles?: readonly string[];
  /**
   * Refuse tokens without a user (client_credentials: `sub` is the client id), with a tool error.
   * Default true: a tool written with people in mind must not take a client id for a user id.
   * Set false for a tool that serves machine clients too (and reads `callerOf(ctx).kind`).
   */
  requiresUser?: boolean;
  run: ToolCallback<Shape>;
}

/**
 * Declares a tool with its scopes, roles and whether it needs a user, in one place.
 *
 * ```ts source="./registry.examples.ts#defineTool"
 * const greet = defineTool({
 *   name: 'greet',
 *   title: 'Greet',
 *   description: 'Says hello',
 *   inputSchema: z.object({ name: z.string() }),
 *   requiredScopes: [TOOLS_SCOPE],
 *   run: ({ name }) => ({ content: [{ type: 'text', text: `Hello, ${name}!` }] }),
 * });
 * ```
 */
export function defineTool<Shape extends StandardSchemaWithJSON | undefined = undefined>(spec: ToolSpec<Shape>): ToolDefinition {
  const requiredRoles = spec.requiredRoles ?? [];
  const requiresUser = spec.requiresUser ?? true;
  return {
    name: spec.name,
    requiredScopes: spec.requiredScopes,
    requiredRoles,
    requiresUser,
    register(server) {
      // The SDK passes (args, ctx) or just (ctx) depending on the schema: ctx is always last.
      const run = spec.run as (...args: unknown[]) => CallToolResult | Promise<CallToolResult>;
      const guarded = (...args: unknown[]) => {
        const caller = callerOf(args.at(-1) as Parameters<typeof callerOf>[0]);
        // A tool error, not an HTTP 403: no step-up can add a user to a client_credentials token.
        if (requiresUser && caller.kind === 'machine') {
          const text = `Forbidden: ${spec.name} needs a signed-in user; this token belongs to the client ${caller.clientId} without a user (client_credentials). Use a token from a user's sign-in.`;
          return { isError: true, content: [{ type: 'text', text }] };
        }
        const roles = caller.roles;
        const missing = requiredRoles.filter((role) => !roles.includes(role));
        if (missing.length > 0) {
          return { isError: true, content: [{ type: 'text', text: `Forbidden: ${spec.name} requires the role ${missing.join(', ')}.` }] };
        }
        return run(...args);
      };
      server.registerTool(
        spec.name,
        { title: spec.title, description: spec.description, inputSchema: spec.inputSchema },
        guarded as ToolCallback<Shape>,
      );
    },
  };
}

/** Lookups over a set of tools: what the pre-dispatch scope check and the metadata need. */
export interface ToolRegistry {
  tools: readonly ToolDefinition[];
  /** Every scope some tool requires, in first-seen order (the PRM's scopes_supported). */
  scopes: readonly string[];
  /**
   * What any signed-in user can use: the scopes of the tools that need no role (never
   * offline_access). A 401 challenges for these, so a plain client asks for what every user can
   * get; tools behind a role are reached by step-up (403 insufficient_scope names their scope).
   */
  basicScopes: readonly string[];
  /** Scopes needed to call `name`; undefined for an unknown tool (the SDK answers that). */
  scopesFor(name: string): readonly string[] | undefined;
  /** A fresh McpServer with every tool registered. */
  registerAll(server: McpServer): void;
  /**
   * True when `tools/list` differs by caller (a tool policy hides role-gated tools; a gateway's
   * upstream lists per session): the list is then never marked for shared caches.
   */
  listPerCaller?: boolean;
  /** A gateway with MCP_UPSTREAM_IDENTITY=jwt: the public keys of its upstream JWTs, served at /.well-known/upstream-jwks.json. */
  upstreamJwks?: { keys: object[] } | undefined;
}

/** The scopes of the tools that need no role, never an authorization-server scope (ToolRegistry.basicScopes). */
export function basicScopesOf(tools: readonly ToolDefinition[]): string[] {
  const scopes = tools.filter((tool) => tool.requiredRoles.length === 0).flatMap((tool) => tool.requiredScopes);
  return [...new Set(scopes)].filter((scope) => !AUTHORIZATION_SERVER_SCOPES.has(scope));
}

export function createToolRegistry(tools: readonly ToolDefinition[]): ToolRegistry {
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  return {
    tools,
    scopes: [...new Set(tools.flatMap((tool) => tool.requiredScopes))],
    basicScopes: basicScopesOf(tools),
    scopesFor: (name) => byName.get(name)?.requiredScopes,
    registerAll(server) {
      for (const tool of tools) tool.register(server);
    },
  };
}
