/** Type-checked examples for resource-urls.ts (its JSDoc shows these regions). */
import { legacySseUrl, loopbackAliases } from './resource-urls.ts';

export function legacySseUrlExample() {
  //#region legacySseUrl
  legacySseUrl('http://localhost:3001/mcp'); // 'http://localhost:3001/sse'
  //#endregion legacySseUrl
}

export function loopbackAliasesExample() {
  //#region loopbackAliases
  loopbackAliases('http://localhost:3001/mcp'); // ['http://127.0.0.1:3001/mcp', 'http://[::1]:3001/mcp']
  //#endregion loopbackAliases
}
