import { z } from 'zod';
import { callerOf } from '../../resource-server/tools/caller.ts';
import { defineTool } from '../../resource-server/tools/registry.ts';

/**
 * Your own tools, served by the resource server without forking it:
 * `MCP_TOOLS_MODULE=./examples/tools-module/my-tools.ts npm start`.
 * Each scope named here must also be in the auth server's AUTH_RESOURCE_SCOPES.
 */
export default [
  defineTool({
    name: 'add',
    title: 'Add',
    description: 'Adds two numbers.',
    inputSchema: z.object({ a: z.number(), b: z.number() }),
    requiredScopes: ['mcp:tools'],
    run: ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }], structuredContent: { sum: a + b } }),
  }),
  defineTool({
    name: 'audit_note',
    title: 'Audit note',
    description: 'Records a note in the audit trail. Needs mcp:admin and the admin role.',
    inputSchema: z.object({ note: z.string().max(500) }),
    requiredScopes: ['mcp:admin'],
    requiredRoles: ['admin'],
    run: ({ note }, ctx) => ({ content: [{ type: 'text', text: `noted for ${callerOf(ctx).subject}: ${note}` }] }),
  }),
];
