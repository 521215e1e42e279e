import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import type Koa from 'koa';

/**
 * The bind host that means "this machine only": 127.0.0.1 and, where the machine has IPv6, ::1.
 * The servers' development default. A plain `listen(port, 'localhost')` would bind whichever one
 * address the resolver returns first, and `::` with dual-stack is every interface, so loopback on
 * both families takes two listeners on the same port.
 */
export const LOOPBACK = 'localhost';

export interface RunningServer {
  /** The first listener (127.0.0.1 for {@link LOOPBACK}). */
  server: Server;
  /** Every listener: two for {@link LOOPBACK} on a machine with IPv6, else one. */
  servers: Server[];
  /** The addresses bound, e.g. ['127.0.0.1', '::1'] or ['::']. */
  addresses: string[];
  /** http://host:port, with the real port when 0 was asked for. */
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (bounded), then closes idle sockets. */
  close(): Promise<void>;
  closeIdleConnections(): void;
  closeAllConnections(): void;
}

/** listen() found the port taken; `message` is one line a person can act on. */
export class PortInUseError extends Error {
  readonly port: number;
  readonly host: string;

  constructor(port: number, host: string, variable?: string) {
    super(
      `port ${port} is already in use on ${host}` +
        (variable ? ` (is it already running?); stop the other process or pick another port with ${variable}=<port>` : ''),
    );
    this.name = 'PortInUseError';
    this.port = port;
    this.host = host;
  }

  /**
   * The same error, saying which environment variable picks another port.
   *
   * ```ts source="./http-server.examples.ts#naming"
   * await listen(app, config.port, config.host).catch((e) => {
   *   throw e instanceof PortInUseError ? e.naming('AUTH_PORT') : e;
   * });
   * ```
   */
  naming(variable: string): PortInUseError {
    return new PortInUseError(this.port, this.host, variable);
  }
}

/** Rethrows a {@link PortInUseError} naming `variable`; anything else unchanged. */
export const portVariable =
  (variable: string) =>
  (error: unknown): never => {
    throw error instanceof PortInUseError ? error.naming(variable) : error;
  };

/**
 * Starts a Koa app on node:http. `host` undefined binds every interface; {@link LOOPBACK}
 * binds 127.0.0.1 and ::1. A taken port rejects with {@link PortInUseError}.
 *
 * ```ts source="./http-server.examples.ts#listen"
 * const { url, close } = await listen(app, 0, '127.0.0.1');
 * ```
 */
export async function listen(app: Koa, port: number, host?: string): Promise<RunningServer> {
  const handler = app.callback();
  const servers = await bind(
    () => {
      const server = createServer(handler);
      // Keep-alive longer than common load balancers' idle timeout, so they close first.
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 66_000;
      return server;
    },
    port,
    host,
  );
  const address = servers[0]!.address() as AddressInfo;
  const shownHost = !host || host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return {
    server: servers[0]!,
    servers,
    addresses: servers.map((s) => (s.address() as AddressInfo).address),
    port: address.port,
    url: `http://${shownHost}:${address.port}`,
    close: async () => void (await Promise.all(servers.map((s) => closeServer(s)))),
    closeIdleConnections: () => servers.forEach((s) => s.closeIdleConnections()),
    closeAllConnections: () => servers.forEach((s) => s.closeAllConnections()),
  };
}

/**
 * Whether something already listens on `port` at `host` (same meaning of `host` as
 * {@link listen}): binds for a moment and lets go.
 *
 * ```ts source="./http-server.examples.ts#portInUse"
 * if (await portInUse(3000, 'localhost')) console.error('port 3000 is taken');
 * ```
 */
export async function portInUse(port: number, host?: string): Promise<boolean> {
  try {
    const servers = await bind(() => createNetServer(), port, host);
    await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
    return false;
  } catch (error) {
    if (error instanceof PortInUseError) return true;
    throw error;
  }
}

/** Listens on each address `host` stands for, all on one port (the first's, when 0 was asked). */
async function bind<T extends NetServer>(create: () => T, port: number, host: string | undefined): Promise<T[]> {
  if (host !== LOOPBACK) return [await listenOne(create(), port, host)];
  const first = await listenOne(create(), port, '127.0.0.1');
  const actualPort = (first.address() as AddressInfo).port;
  try {
    return [first, await listenOne(create(), actualPort, '::1')];
  } catch (error) {
    // No IPv6 on this machine (or ::1 not configured): 127.0.0.1 alone is still loopback only.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') return [first];
    await new Promise((done) => first.close(done));
    // Port 0 got a port free on 127.0.0.1 but taken on ::1: try another.
    if (port === 0 && error instanceof PortInUseError) return bind(create, port, host);
    throw error;
  }
}

function listenOne<T extends NetServer>(server: T, port: number, host: string | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(port, host ?? 'every interface') : error);
    };
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve(server);
    });
  });
}

async function closeServer(server: Server, graceMs = 5_000): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  timer.unref();
  await closed;
  clearTimeout(timer);
}

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits. A second signal exits at once.
 */
export function onShutdownSignal(stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    stop(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
