/** Type-checked examples for metrics.ts (its JSDoc shows these regions). */
import type { McpSession } from './mcp-transport.ts';
import { resourceMetrics } from './metrics.ts';
import type { SessionStore } from './sessions.ts';

export function resourceMetricsExample(sessions: SessionStore<McpSession>) {
  //#region resourceMetrics
  const metrics = resourceMetrics(() => sessions.size);
  //#endregion resourceMetrics
}
