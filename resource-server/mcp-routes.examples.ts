/** Type-checked examples for mcp-routes.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import type { Logger } from '../common/logger.ts';
import type { ResourceServerConfig } from './config.ts';
import type { createLegacySse } from './legacy-sse.ts';
import { mcpRoutes } from './mcp-routes.ts';
import type { createSessionHandler } from './mcp-transport.ts';
import type { createModernEntry } from './modern-entry.ts';
import type { TokenGate } from './require-token.ts';
import type { ServedResources } from './served-resources.ts';
import type { ToolRegistry } from './tools/registry.ts';

export function mcpRoutesExample(
  app: Koa,
  deps: {
    config: ResourceServerConfig;
    registry: ToolRegistry;
    resources: ServedResources;
    gate: TokenGate;
    isAllowedOrigin: (origin: string | undefined) => boolean;
    log: Logger;
    handleSession: ReturnType<typeof createSessionHandler>;
    modern: ReturnType<typeof createModernEntry>;
    legacy: ReturnType<typeof createLegacySse>;
  },
) {
  const { config, registry, resources, gate, isAllowedOrigin, log, handleSession, modern, legacy } = deps;
  //#region mcpRoutes
  const routes = mcpRoutes({ config, registry, resources, gate, isAllowedOrigin, log, handleSession, modern, legacy });
  app.use(routes.routes());
  //#endregion mcpRoutes
}
