import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../common/config-error.ts';
import type { ResourceServerConfig } from './config.ts';
import { demoTools } from './tools/index.ts';
import { createToolRegistry, type ToolDefinition, type ToolRegistry } from './tools/registry.ts';

/**
 * Loads MCP_TOOLS_MODULE: your tools, served instead of the demo tools, without forking. The
 * module exports (default, or as `tools`) an array of tools made with `defineTool` from
 * resource-server/tools/registry.ts: name, schema, required scopes and roles, and a handler that
 * reads the caller with `callerOf(extra)`. A `.ts` module runs as our own code does (Node's type
 * stripping); see examples/tools-module/.
 *
 * ```ts source="./tools-module.examples.ts#loadToolsModule"
 * const tools = await loadToolsModule('./my-tools.ts'); // → createResourceServer(config, { tools })
 * ```
 *
 * @throws ConfigError when the module cannot be loaded or exports no valid tools.
 */
export async function loadToolsModule(path: string, cwd = process.cwd()): Promise<ToolRegistry> {
  const url = pathToFileURL(resolve(cwd, path)).href;
  let module: { default?: unknown; tools?: unknown };
  try {
    module = (await import(url)) as typeof module;
  } catch (error) {
    throw new ConfigError([`MCP_TOOLS_MODULE: cannot load ${path}: ${(error as Error).message}`]);
  }
  const exported = module.tools ?? module.default;
  if (!Array.isArray(exported) || exported.length === 0) {
    throw new ConfigError([
      `MCP_TOOLS_MODULE: ${path} must export a non-empty array of tools (export default [defineTool({…})] or export const tools)`,
    ]);
  }
  const problems = exported.flatMap((tool: unknown, i) =>
    isToolDefinition(tool) ? [] : [`MCP_TOOLS_MODULE: ${path}: entry ${i} is not made with defineTool`],
  );
  const names = exported.filter(isToolDefinition).map((tool) => tool.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) problems.push(`MCP_TOOLS_MODULE: ${path}: two tools are named ${duplicate}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return createToolRegistry(exported as ToolDefinition[]);
}

function isToolDefinition(value: unknown): value is ToolDefinition {
  const tool = value as Partial<ToolDefinition> | null;
  return (
    typeof tool === 'object' &&
    tool !== null &&
    typeof tool.name === 'string' &&
    Array.isArray(tool.requiredScopes) &&
    Array.isArray(tool.requiredRoles) &&
    typeof tool.register === 'function'
  );
}

/**
 * The tools the configuration names: an upstream's (gateway mode, MCP_UPSTREAM_URL/COMMAND), a
 * module's (MCP_TOOLS_MODULE), the demo tools with `upstream_profile` (RS_UPSTREAM_USERINFO), or
 * undefined for the demo tools alone.
 */
export async function configuredTools(
  config: Pick<
    ResourceServerConfig,
    | 'toolsModule'
    | 'upstream'
    | 'upstreamIdentity'
    | 'upstreamAudience'
    | 'upstreamJwtKeyFile'
    | 'sessionIdleTtlMs'
    | 'resourceUrl'
    | 'issuer'
    | 'client'
    | 'upstreamUserinfo'
  >,
): Promise<ToolRegistry | undefined> {
  // The gateway (the MCP client SDK, cross-spawn) and upstream_profile (openid-client) are loaded
  // only when configured: a server with the demo tools idles without them (bench/FINDINGS.md).
  if (config.upstream) {
    const [{ createGateway }, { createUpstreamJwt }] = await Promise.all([
      import('./gateway/gateway.ts'),
      import('./gateway/upstream-jwt.ts'),
    ]);
    const jwt =
      config.upstreamIdentity === 'jwt' && config.upstreamAudience !== undefined
        ? await createUpstreamJwt({
            issuer: config.resourceUrl,
            audience: config.upstreamAudience,
            keyFile: config.upstreamJwtKeyFile,
          }).catch((error: Error) => {
            throw new ConfigError([`MCP_UPSTREAM_JWT_KEY_FILE: cannot use ${config.upstreamJwtKeyFile}: ${error.message}`]);
          })
        : undefined;
    return createGateway({ upstream: config.upstream, identity: config.upstreamIdentity, idleTtlMs: config.sessionIdleTtlMs, jwt });
  }
  if (config.toolsModule !== undefined) return loadToolsModule(config.toolsModule);
  // loadConfig refuses RS_UPSTREAM_USERINFO without the client.
  if (config.upstreamUserinfo.length > 0 && config.client) {
    const { upstreamProfile } = await import('./tools/upstream-profile.ts');
    return createToolRegistry([
      ...demoTools.tools,
      upstreamProfile({ issuer: config.issuer, client: config.client, upstreams: config.upstreamUserinfo }),
    ]);
  }
  return undefined;
}
