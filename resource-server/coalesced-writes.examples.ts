/** Type-checked examples for coalesced-writes.ts (its JSDoc shows these regions). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { coalesceWrites } from './coalesced-writes.ts';

export async function coalesceWritesExample(
  transport: NodeStreamableHTTPServerTransport,
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
) {
  //#region coalesceWrites
  coalesceWrites(res);
  await transport.handleRequest(req, res, body);
  //#endregion coalesceWrites
}
