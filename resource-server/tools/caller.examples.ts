/** Type-checked examples for caller.ts (its JSDoc shows these regions). */
import { TOOLS_SCOPE } from '../scopes.ts';
import { callerOf } from './caller.ts';
import { defineTool } from './registry.ts';

export function callerOfExample() {
  //#region callerOf
  const whoami = defineTool({
    name: 'whoami',
    title: 'Who am I',
    description: 'Returns the caller',
    requiredScopes: [TOOLS_SCOPE],
    run: (ctx) => ({ content: [{ type: 'text', text: JSON.stringify(callerOf(ctx)) }] }),
  });
  //#endregion callerOf
}
