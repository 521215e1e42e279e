/** Type-checked examples for resources.ts (its JSDoc shows these regions). */
import type { AuthServerConfig } from '../config.ts';
import { canonicalResource, resourceIndicators } from './resources.ts';

export function resourceIndicatorsExample(config: AuthServerConfig) {
  //#region resourceIndicators
  const features = { resourceIndicators: { enabled: true, ...resourceIndicators(config.resources) } };
  //#endregion resourceIndicators
}

export function canonicalResourceExample() {
  //#region canonicalResource
  canonicalResource(['http://localhost:3001/mcp'], 'http://localhost:3001/mcp/'); // → 'http://localhost:3001/mcp'
  //#endregion canonicalResource
}
