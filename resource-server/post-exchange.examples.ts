/** Type-checked examples for post-exchange.ts (its JSDoc shows these regions). */
import type { ServerResponse } from 'node:http';
import { PostExchange } from './post-exchange.ts';

export function PostExchangeExample(res: ServerResponse, body: unknown) {
  //#region PostExchange
  const exchange = new PostExchange(res, Array.isArray(body), 1);
  exchange.event({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } });
  exchange.respond({ jsonrpc: '2.0', id: 1, result: {} }); // the last response: the stream ends
  //#endregion PostExchange
}
