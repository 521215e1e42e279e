import { ADMIN_SCOPE } from '../scopes.ts';
import { callerOf } from './caller.ts';
import { defineTool } from './registry.ts';

/**
 * The elevated tool: the token needs mcp:admin (else HTTP 403, so the client can step up) and
 * the user needs the admin role (else a tool error: no step-up can grant a role).
 */
export const adminReport = defineTool({
  name: 'admin_report',
  title: 'Admin report',
  description: 'An administrative report about this server. Needs scope mcp:admin and the admin role.',
  requiredScopes: [ADMIN_SCOPE],
  requiredRoles: ['admin'],
  // Machines too: the admin role is the guard, and a machine token carries roles only when an
  // operator registered the client with them; a monitoring job is the typical machine caller.
  // `generatedFor` then names the client.
  requiresUser: false,
  run: (ctx) => {
    const report = {
      generatedFor: callerOf(ctx).subject,
      uptimeSeconds: Math.round(process.uptime()),
      memoryRssMb: Math.round(process.memoryUsage.rss() / 1e6),
      node: process.version,
    };
    return { content: [{ type: 'text', text: JSON.stringify(report) }], structuredContent: report };
  },
});
