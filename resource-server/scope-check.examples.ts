/** Type-checked examples for scope-check.ts (its JSDoc shows these regions). */
import { missingScopeChallenge } from './scope-check.ts';
import { demoTools } from './tools/index.ts';

export function missingScopeChallengeExample(body: unknown) {
  //#region missingScopeChallenge
  missingScopeChallenge(body, ['mcp:tools'], demoTools); // 'mcp:tools mcp:admin' for admin_report
  //#endregion missingScopeChallenge
}
