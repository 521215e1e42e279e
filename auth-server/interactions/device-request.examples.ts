/** Type-checked examples for device-request.ts (its JSDoc shows these regions). */
import type { AuthServerConfig } from '../config.ts';
import { describeDeviceRequest } from './device-request.ts';

export function describeDeviceRequestExample(deviceCode: { params?: unknown; deviceInfo?: unknown }, config: AuthServerConfig) {
  //#region describeDeviceRequest
  describeDeviceRequest(deviceCode.params, deviceCode.deviceInfo, config.resources);
  // → { scopes: [{ name: 'mcp:tools', … }], resources: [{ url: 'http://localhost:3001/mcp', name: 'MCP server' }], requestedFrom: '127.0.0.1' }
  //#endregion describeDeviceRequest
}
