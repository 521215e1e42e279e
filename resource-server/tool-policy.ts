import { readFileSync } from 'node:fs';
import type { AuthInfo, McpServer, ServerContext } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { ConfigError } from '../common/config-error.ts';
import { filterToolList } from './tool-list-filter.ts';
import { callerOf } from './tools/caller.ts';
import { basicScopesOf, type ToolDefinition, type ToolRegistry } from './tools/registry.ts';

const scopeName = z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be a scope token (no spaces or quotes)');
const ruleBody = {
  /**
   * Scopes the token must carry (missing → 403 insufficient_scope, a step-up), on top of the
   * tool's own: a policy only adds requirements. A rule without scopes takes the default's.
   */
  scopes: z.array(scopeName).optional(),
  /** Roles the user must have (missing → a tool error, and the tool is left out of tools/list). */
  roles: z.array(z.string().min(1)).optional(),
  /** Never served: not listed, and a call is an unknown tool. */
  deny: z.boolean().optional(),
};
const toolPattern = z.string().min(1, 'must not be empty');

/** MCP_TOOL_POLICY's file. Strict: a misspelt key (`role`, `scope`) must not silently grant access. */
export const toolPolicySchema = z
  .object({
    default: z.object(ruleBody).strict().default({}),
    rules: z
      .array(
        z
          .object({ tools: z.union([toolPattern, z.array(toolPattern).min(1)]), ...ruleBody })
          .strict()
          .refine((rule) => !(rule.deny && (rule.scopes || rule.roles)), 'a deny rule takes no scopes or roles'),
      )
      .default([]),
  })
  .strict();

/** What calling one tool takes, as the policy decided it. */
export interface ToolAccess {
  /** Required in addition to the tool's own scopes. */
  scopes: readonly string[];
  roles: readonly string[];
  deny: boolean;
}

export interface ToolPolicy {
  /** The first rule matching `name`, else the default. */
  accessFor(name: string): ToolAccess;
  /** Every scope the policy names, in order: published in the metadata. */
  scopes: readonly string[];
}

/** `*` matches any run of characters, everything else itself; whole-name matches only. */
function globMatcher(pattern: string): (name: string) => boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return (name) => regex.test(name);
}

export function parseToolPolicy(json: unknown): ToolPolicy {
  const policy = toolPolicySchema.parse(json);
  const fallback = accessOf(policy.default, []);
  const rules = policy.rules.map((rule) => {
    const matchers = [rule.tools].flat().map(globMatcher);
    return { matches: (name: string) => matchers.some((m) => m(name)), access: accessOf(rule, fallback.scopes) };
  });
  return {
    accessFor: (name) => rules.find((rule) => rule.matches(name))?.access ?? fallback,
    scopes: [...new Set([policy.default, ...policy.rules].flatMap((rule) => rule.scopes ?? []))],
  };
}

function accessOf(
  rule: { scopes?: string[] | undefined; roles?: string[] | undefined; deny?: boolean | undefined },
  defaultScopes: readonly string[],
): ToolAccess {
  return { scopes: rule.scopes ?? defaultScopes, roles: rule.roles ?? [], deny: rule.deny ?? false };
}

/**
 * Reads and validates MCP_TOOL_POLICY's file at start, so a broken policy stops the server with
 * one line per problem instead of serving tools unguarded.
 *
 * @throws ConfigError naming the file and each problem.
 */
export function readToolPolicy(file: string): ToolPolicy {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError([`MCP_TOOL_POLICY: cannot read ${file} as JSON: ${(error as Error).message}`]);
  }
  try {
    return parseToolPolicy(json);
  } catch (error) {
    if (!(error instanceof z.ZodError)) throw error;
    throw new ConfigError(
      error.issues.map((issue) => `MCP_TOOL_POLICY: ${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`),
    );
  }
}

/** Roles the caller lacks for `access`; empty when none. */
export function missingRoles(access: ToolAccess, auth: AuthInfo | undefined): string[] {
  const roles = callerOf({ http: { authInfo: auth } }).roles;
  return access.roles.filter((role) => !roles.includes(role));
}

/** The tool error for a missing role: no step-up can grant a role, so not an HTTP 403. */
export function roleRefusal(name: string, missing: readonly string[]) {
  return { isError: true, content: [{ type: 'text' as const, text: `Forbidden: ${name} requires role ${missing.join(', ')}.` }] };
}

/**
 * The scopes a tool needs under the policy: its own and the rule's (or the default's). Never
 * fewer than its own: a broad default must not open admin_report to every mcp:tools token.
 */
function scopesUnder(policy: ToolPolicy, name: string, own: readonly string[]): readonly string[] {
  return [...new Set([...own, ...policy.accessFor(name).scopes])];
}

/**
 * The registry as the policy shapes it: denied tools are gone, each tool's scopes are the
 * policy's (the pre-dispatch check and the 403 step-up challenge use them), the policy's roles
 * are checked in the tool (a tool error), and tools/list leaves out what the caller can never use.
 *
 * ```ts source="./tool-policy.examples.ts#applyToolPolicy"
 * const registry = applyToolPolicy(demoTools, readToolPolicy('policy.json'));
 * ```
 */
export function applyToolPolicy(registry: ToolRegistry, policy: ToolPolicy): ToolRegistry {
  // A gateway's tools are known only upstream, per session: it applies the policy itself.
  if ('withPolicy' in registry && typeof registry.withPolicy === 'function')
    return (registry.withPolicy as (p: ToolPolicy) => ToolRegistry)(policy);
  const tools: ToolDefinition[] = registry.tools
    .filter((tool) => !policy.accessFor(tool.name).deny)
    .map((tool) => ({
      ...tool,
      requiredScopes: scopesUnder(policy, tool.name, tool.requiredScopes),
      requiredRoles: [...new Set([...tool.requiredRoles, ...policy.accessFor(tool.name).roles])],
      register: (server: McpServer) => tool.register(withRoleCheck(server, policy)),
    }));
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  return {
    tools,
    scopes: [...new Set([...tools.flatMap((tool) => tool.requiredScopes), ...policy.scopes])],
    basicScopes: basicScopesOf(tools),
    scopesFor: (name) => byName.get(name)?.requiredScopes,
    // Role-gated tools are hidden from callers without the role: the list differs by caller.
    listPerCaller: true,
    registerAll(server) {
      for (const tool of tools) tool.register(server);
      filterToolList(server, (name, auth) => {
        const tool = byName.get(name);
        return tool !== undefined && tool.requiredRoles.every((role) => callerOf({ http: { authInfo: auth } }).roles.includes(role));
      });
    },
  };
}

/**
 * The McpServer a tool registers itself on, with the policy's role check in front of its
 * handler. Only registerTool is wrapped: it is all defineTool calls.
 */
function withRoleCheck(server: McpServer, policy: ToolPolicy): McpServer {
  const registerTool = ((name: string, config: unknown, handler: (...args: unknown[]) => unknown) =>
    server.registerTool(
      name,
      config as never,
      ((...args: unknown[]) => {
        const ctx = args.at(-1) as Pick<ServerContext, 'http'>;
        const missing = missingRoles(policy.accessFor(name), ctx.http?.authInfo);
        return missing.length > 0 ? roleRefusal(name, missing) : handler(...args);
      }) as never,
    )) as McpServer['registerTool'];
  return new Proxy(server, {
    get: (target, key, receiver) => (key === 'registerTool' ? registerTool : Reflect.get(target, key, receiver)),
  });
}
