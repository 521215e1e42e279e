import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CompleteRequestSchema, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/**
 * A stdio MCP server for the gateway tests: `pid` tells which process answers (so a test sees
 * one process per caller, and a fresh one after a crash), `crash` ends the process mid-call, `hang` never answers, `progress` reports progress.
 * `ask-model`, `ask-user` and `roots` ask the client back (sampling, elicitation, roots) during
 * the call; `log-and-grow` logs at two levels and adds a tool (tools/list_changed).
 * `touch` changes the `fixture://counter` resource (resources/updated to a subscriber);
 * `garbage` prints a line that is not JSON-RPC on stdout and never answers (`json-garbage`: a JSON one). Completions answer
 * for any prompt name, even the `hidden` one it does not list: the gateway must refuse that.
 * With `--plain` it offers neither subscriptions nor completions (nor prompts and templates).
 */
const plain = process.argv.includes('--plain');
const server = new McpServer(
  { name: 'gateway-fixture', version: '1.0.0' },
  { capabilities: plain ? { logging: {} } : { logging: {}, resources: { subscribe: true }, completions: {} } },
);
const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
server.registerTool('pid', { description: 'The process id' }, () => text(String(process.pid)));
server.registerTool('progress', { description: 'Reports progress twice, then answers' }, async (extra) => {
  const progressToken = extra._meta?.progressToken;
  if (progressToken !== undefined) {
    for (const progress of [1, 2]) {
      await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress, total: 3 } });
    }
  }
  return text('done');
});
// Accepts the call and never answers (not even on cancellation): a hung upstream.
server.registerTool('hang', { description: 'Never answers' }, () => new Promise<never>(() => undefined));
server.registerTool('crash', { description: 'Exits without answering' }, () => process.exit(3));
server.registerTool('ask-model', { description: 'Asks the client for a completion' }, async () => {
  const answer = await server.server.createMessage({
    messages: [{ role: 'user', content: { type: 'text', text: 'What is 2 + 2?' } }],
    maxTokens: 10,
  });
  return text(`the model (${answer.model}) said ${answer.content.type === 'text' ? answer.content.text : answer.content.type}`);
});
server.registerTool('ask-user', { description: 'Asks the user for a name' }, async () => {
  const answer = await server.server.elicitInput({
    message: 'Your name?',
    requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
  });
  return text(`${answer.action}: ${String(answer.content?.name)}`);
});
server.registerTool('roots', { description: "The client's roots" }, async () => {
  const { roots } = await server.server.listRoots();
  return text(roots.map((root) => root.uri).join(' '));
});
let added = 0;
server.registerTool('log-and-grow', { description: 'Logs at info and warning, then adds a tool' }, async () => {
  await server.sendLoggingMessage({ level: 'info', logger: 'fixture', data: 'an info line' });
  await server.sendLoggingMessage({ level: 'warning', logger: 'fixture', data: 'a warning line' });
  server.registerTool(`added-${++added}`, { description: 'Added at run time' }, () => text('new'));
  return text('grown');
});
let counter = 0;
const subscribed = new Set<string>();
server.registerResource('counter', 'fixture://counter', { description: 'Grows with each touch' }, (uri) => ({
  contents: [{ uri: uri.href, text: String(counter) }],
}));
if (!plain) {
  server.server.setRequestHandler(SubscribeRequestSchema, (request) => {
    subscribed.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    subscribed.delete(request.params.uri);
    return {};
  });
}
server.registerTool('touch', { description: 'Changes fixture://counter' }, async () => {
  counter++;
  // What a server does: tell only about what was subscribed to.
  if (subscribed.has('fixture://counter')) await server.server.sendResourceUpdated({ uri: 'fixture://counter' });
  return text(String(counter));
});
server.registerTool('json-garbage', { description: 'Prints a JSON log line on stdout' }, () => {
  process.stdout.write('{"level":30,"msg":"a JSON log line, not JSON-RPC"}\n');
  return new Promise<never>(() => undefined);
});
server.registerTool('garbage', { description: 'Prints something that is not JSON-RPC on stdout' }, () => {
  process.stdout.write('Server ready on port 8080 (this is not JSON-RPC)\n');
  return new Promise<never>(() => undefined);
});
if (!plain) {
  server.registerPrompt('greeting', { description: 'Greets someone', argsSchema: { name: z.string() } }, ({ name }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Hello ${name}` } }],
  }));
  server.registerResource(
    'file',
    new ResourceTemplate('fixture://files/{name}', { list: undefined }),
    { description: 'A file by name' },
    (uri) => ({ contents: [{ uri: uri.href, text: 'a file' }] }),
  );
  // Answers for any prompt or template, listed or not (an upstream that checks nothing).
  server.server.setRequestHandler(CompleteRequestSchema, (request) => {
    const ref = request.params.ref;
    const name = ref.type === 'ref/prompt' ? ref.name : ref.uri;
    return { completion: { values: [`${name}:${request.params.argument.value}-completed`], hasMore: false } };
  });
}
await server.connect(new StdioServerTransport());
