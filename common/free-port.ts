import { createServer, type AddressInfo } from 'node:net';

/**
 * A loopback port that was free a moment ago, for tests, benchmarks and the no-Docker compose
 * runner that must name a port before the server listens (its issuer URL contains it).
 *
 * ```ts source="./free-port.examples.ts#freePort"
 * const port = await freePort(); // then AUTH_PORT=port, AUTH_ISSUER=http://localhost:port
 * ```
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done, fail) => server.once('error', fail).listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}
