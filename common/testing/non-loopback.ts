import { networkInterfaces } from 'node:os';

/**
 * An address of this machine that is not loopback (IPv4 first, then a global IPv6), as a URL
 * host, or undefined when the machine has none. Reaching a server through it shows the server
 * listens beyond loopback.
 *
 * @example
 * const host = nonLoopbackHost(); // '192.0.2.2' or '[fd00::2]'
 */
export function nonLoopbackHost(): string | undefined {
  const addresses = Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => !a.internal);
  const v4 = addresses.find((a) => a.family === 'IPv4');
  if (v4) return v4.address;
  // Link-local IPv6 needs a zone id to be reachable; skip it.
  const v6 = addresses.find((a) => a.family === 'IPv6' && !a.address.toLowerCase().startsWith('fe80:'));
  return v6 ? `[${v6.address}]` : undefined;
}

/** Whether GET http://host:port/path answers at all (any status) within a second. */
export async function answers(host: string, port: number, path = '/healthz'): Promise<boolean> {
  try {
    const response = await fetch(`http://${host}:${port}${path}`, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}
