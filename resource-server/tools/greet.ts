import { z } from 'zod';
import { TOOLS_SCOPE } from '../scopes.ts';
import { callerOf } from './caller.ts';
import { defineTool } from './registry.ts';

/** A tool with an argument that also uses the caller's identity. */
export const greet = defineTool({
  name: 'greet',
  title: 'Greet',
  description: 'Greets someone by name and tells the caller their user id (or, to a machine client, its client id).',
  inputSchema: z.object({ name: z.string().min(1).max(200).describe('Who to greet') }),
  requiredScopes: [TOOLS_SCOPE],
  // Machines too: greeting needs nobody's data, and the answer says which kind of caller it saw.
  requiresUser: false,
  run: ({ name }, ctx) => {
    const caller = callerOf(ctx);
    // A client_credentials token's sub is the client id: calling it a user id would be a lie.
    const who =
      caller.kind === 'machine' ? `You are the client ${caller.clientId}, calling without a user.` : `Your user id is ${caller.subject}.`;
    return { content: [{ type: 'text', text: `Hello, ${name}! ${who}` }] };
  },
});
