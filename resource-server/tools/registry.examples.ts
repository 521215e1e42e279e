/** Type-checked examples for registry.ts (its JSDoc shows these regions). */
import { z } from 'zod';
import { TOOLS_SCOPE } from '../scopes.ts';
import { defineTool } from './registry.ts';

export function defineToolExample() {
  //#region defineTool
  const greet = defineTool({
    name: 'greet',
    title: 'Greet',
    description: 'Says hello',
    inputSchema: z.object({ name: z.string() }),
    requiredScopes: [TOOLS_SCOPE],
    run: ({ name }) => ({ content: [{ type: 'text', text: `Hello, ${name}!` }] }),
  });
  //#endregion defineTool
}
