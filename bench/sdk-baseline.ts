/**
 * The floor for the resource-server benchmark: the MCP SDK's stateless Streamable HTTP example
 * (examples/server/simpleStatelessStreamableHttp.js), on plain node:http, serving the same
 * `greet` tool. Like the example it builds a new McpServer and a new
 * StreamableHTTPServerTransport({ sessionIdGenerator: undefined }) for every request.
 *
 * Run as its own process: `PORT=4000 node bench/sdk-baseline.ts`; GET /healthz answers when ready.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

function getServer(): McpServer {
  const server = new McpServer({ name: 'sdk-stateless-baseline', version: '1.0.0' }, { capabilities: { logging: {} } });
  server.registerTool(
    'greet',
    { title: 'Greet', description: 'Greets someone by name.', inputSchema: { name: z.string().min(1).max(200).describe('Who to greet') } },
    async ({ name }) => ({ content: [{ type: 'text', text: `Hello, ${name}! Your user id is anonymous.` }] }),
  );
  return server;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const http = createServer(async (req, res) => {
  if (req.method === 'GET' && req.url === '/healthz')
    return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  if (req.method !== 'POST' || req.url !== '/mcp') return void res.writeHead(405).end();
  const server = getServer();
  try {
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    await server.connect(transport);
    await transport.handleRequest(req, res, await readBody(req));
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
  } catch {
    if (!res.headersSent)
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end('{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal server error"},"id":null}');
  }
});
http.keepAliveTimeout = 65_000;
http.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => http.close(() => process.exit(0)));
