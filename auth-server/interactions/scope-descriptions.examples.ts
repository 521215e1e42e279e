/** Type-checked examples for scope-descriptions.ts (its JSDoc shows these regions). */
import { describeScopes } from './scope-descriptions.ts';

export function describeScopesExample() {
  //#region describeScopes
  describeScopes(['openid', 'mcp:tools']); // → [{ name: 'openid', description: 'Know who you are…' }, …]
  //#endregion describeScopes
}
