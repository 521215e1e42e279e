import { TOOLS_SCOPE } from '../scopes.ts';
import { callerOf } from './caller.ts';
import { defineTool } from './registry.ts';

/** Shows what the server knows about the caller: the first thing to try after logging in. */
export const whoami = defineTool({
  name: 'whoami',
  title: 'Who am I',
  description: 'Returns the caller as the server sees it: a user or a machine client, subject, client, scopes, roles and token expiry.',
  requiredScopes: [TOOLS_SCOPE],
  // Machines too: seeing how the server reads its token is what a machine client needs to debug.
  requiresUser: false,
  run: (ctx) => {
    const caller = callerOf(ctx);
    return { content: [{ type: 'text', text: JSON.stringify(caller) }], structuredContent: { ...caller } };
  },
});
