import { z } from 'zod';
import { TOOLS_SCOPE } from '../scopes.ts';
import { callerOf } from './caller.ts';
import { defineTool } from './registry.ts';

/** A tool with an argument that also uses the caller's identity. */
export const greet = defineTool({
  name: 'greet',
  title: 'Greet',
  description: 'Greets someone by name and tells the caller their user id.',
  inputSchema: { name: z.string().min(1).max(200).describe('Who to greet') },
  requiredScopes: [TOOLS_SCOPE],
  run: ({ name }, extra) => ({
    content: [{ type: 'text', text: `Hello, ${name}! Your user id is ${callerOf(extra).subject}.` }],
  }),
});
