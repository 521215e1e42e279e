import { TOOLS_SCOPE } from '../scopes.ts';
import { callerOf } from './caller.ts';
import { defineTool } from './registry.ts';

/** Shows what the server knows about the caller: the first thing to try after logging in. */
export const whoami = defineTool({
  name: 'whoami',
  title: 'Who am I',
  description: 'Returns the caller as the server sees it: subject, client, scopes, roles and token expiry.',
  requiredScopes: [TOOLS_SCOPE],
  run: (extra) => {
    const caller = callerOf(extra);
    return { content: [{ type: 'text', text: JSON.stringify(caller) }], structuredContent: { ...caller } };
  },
});
