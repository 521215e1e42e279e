/**
 * The floor for cold start and idle memory: a bare node:http server, run by Node's type stripping
 * like our servers. `RS_PORT=4000 node bench/bare-server.ts`; GET /healthz answers.
 */
import { createServer } from 'node:http';

const port: number = Number(process.env.RS_PORT);
createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')).listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
