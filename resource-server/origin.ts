import type { ResourceServerConfig } from './config.ts';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Which browser origins may call the MCP endpoints: the DNS-rebinding defence of the MCP
 * transport spec (a page on evil.example resolving to 127.0.0.1 still sends its own Origin).
 * A request without Origin is not from a browser page and is allowed; "null" is not.
 *
 * ```ts source="./origin.examples.ts#createOriginPolicy"
 * const allowed = createOriginPolicy(config);
 * allowed('http://localhost:6274'); // true in development
 * ```
 */
export function createOriginPolicy(
  config: Pick<ResourceServerConfig, 'allowedOrigins' | 'nodeEnv' | 'resourceUrl'>,
): (origin: string | undefined) => boolean {
  const own = new URL(config.resourceUrl).origin;
  const listed = new Set([own, ...config.allowedOrigins]);
  const anyLoopback = config.allowedOrigins.length === 0 && config.nodeEnv !== 'production';
  return (origin) => {
    if (origin === undefined) return true;
    if (listed.has(origin)) return true;
    if (!anyLoopback || !URL.canParse(origin)) return false;
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === origin && LOOPBACK_HOSTS.has(url.hostname);
  };
}
