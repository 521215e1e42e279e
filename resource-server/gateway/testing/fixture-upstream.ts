import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

/**
 * A stdio MCP server for the gateway tests: `pid` tells which process answers (so a test sees
 * one process per caller, and a fresh one after a crash), `crash` ends the process mid-call, `progress` reports progress.
 */
const server = new McpServer({ name: 'gateway-fixture', version: '1.0.0' });
server.registerTool('pid', { description: 'The process id' }, () => ({ content: [{ type: 'text', text: String(process.pid) }] }));
server.registerTool('progress', { description: 'Reports progress twice, then answers' }, async (extra) => {
  const progressToken = extra._meta?.progressToken;
  if (progressToken !== undefined) {
    for (const progress of [1, 2]) {
      await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress, total: 3 } });
    }
  }
  return { content: [{ type: 'text', text: 'done' }] };
});
server.registerTool('crash', { description: 'Exits without answering' }, () => process.exit(3));
await server.connect(new StdioServerTransport());
