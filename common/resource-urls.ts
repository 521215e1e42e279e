/**
 * The resource URLs both servers derive from RS_RESOURCE_URL. The auth server issues tokens for
 * exactly these URLs and the resource server accepts exactly these, so the derivation lives
 * once, here.
 */

/** The spellings of this machine that browsers and tools use interchangeably. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/**
 * The legacy HTTP+SSE endpoint (2024-11-05) beside the MCP endpoint: the sibling path `sse`
 * (http://h/mcp → http://h/sse, http://h/api/mcp → http://h/api/sse). It is a resource of its
 * own: RFC 9728 §3.3 clients compare the metadata's `resource` with the URL they called, so
 * /sse cannot borrow the /mcp metadata.
 *
 * ```ts source="./resource-urls.examples.ts#legacySseUrl"
 * legacySseUrl('http://localhost:3001/mcp'); // 'http://localhost:3001/sse'
 * ```
 */
export function legacySseUrl(resourceUrl: string): string {
  return siblingUrl(resourceUrl, 'sse');
}

/** The legacy transport's POST endpoint (sibling path `messages`); covered by the /sse resource. */
export function legacyMessagesUrl(resourceUrl: string): string {
  return siblingUrl(resourceUrl, 'messages');
}

function siblingUrl(resourceUrl: string, name: string): string {
  const url = new URL(resourceUrl);
  return new URL(`${url.pathname.slice(0, url.pathname.lastIndexOf('/'))}/${name}`, url.origin).href;
}

/**
 * The same URL under the other loopback spellings (localhost, 127.0.0.1, [::1]), or none when
 * the URL is not on loopback. MCP Inspector runs on 127.0.0.1 while the default resource says
 * localhost; RFC 9728 §3.3 makes the client refuse metadata whose `resource` is spelled
 * differently from the URL it called. Development only: production has one canonical URL.
 *
 * ```ts source="./resource-urls.examples.ts#loopbackAliases"
 * loopbackAliases('http://localhost:3001/mcp'); // ['http://127.0.0.1:3001/mcp', 'http://[::1]:3001/mcp']
 * ```
 */
export function loopbackAliases(resourceUrl: string): string[] {
  const url = new URL(resourceUrl);
  if (!LOOPBACK_HOSTS.includes(url.hostname)) return [];
  return LOOPBACK_HOSTS.filter((host) => host !== url.hostname).map((host) => {
    const alias = new URL(url.href);
    alias.hostname = host;
    return alias.href;
  });
}
