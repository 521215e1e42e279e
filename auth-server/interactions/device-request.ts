import type { ProtectedResourceConfig } from '../config.ts';
import { describeScopes } from './scope-descriptions.ts';

export interface DeviceRequestDisplay {
  scopes: { name: string; description: string }[];
  resources: { url: string; name: string }[];
  /** The address the device authorization request came from, when known. */
  requestedFrom: string | undefined;
}

/**
 * What the device confirm page says about a device authorization request: the scopes and the
 * resources it asked for, and where it came from. That page is all a device-code phishing victim
 * ever sees (a browser that approved the client before skips consent), so it must say what
 * approving gives away, not only the client's self-chosen name.
 *
 * ```ts source="./device-request.examples.ts#describeDeviceRequest"
 * describeDeviceRequest(deviceCode.params, deviceCode.deviceInfo, config.resources);
 * // → { scopes: [{ name: 'mcp:tools', … }], resources: [{ url: 'http://localhost:3001/mcp', name: 'MCP server' }], requestedFrom: '127.0.0.1' }
 * ```
 */
export function describeDeviceRequest(
  params: unknown,
  deviceInfo: unknown,
  resources: readonly ProtectedResourceConfig[],
): DeviceRequestDisplay {
  const { scope, resource } = (params ?? {}) as { scope?: unknown; resource?: unknown };
  const scopes = typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
  // No resource means the default one (resources.ts defaultResource), so name that one.
  const asked = [resource].flat().filter((r): r is string => typeof r === 'string');
  const urls = asked.length ? asked : resources.slice(0, 1).map((r) => r.url);
  const ip = (deviceInfo as { ip?: unknown } | undefined)?.ip;
  return {
    scopes: describeScopes(scopes),
    resources: [...new Set(urls)].map((url) => ({ url, name: resources.find((r) => r.url === url)?.name ?? url })),
    requestedFrom: typeof ip === 'string' && ip ? ip : undefined,
  };
}
