import * as oauth from 'oauth4webapi';
import { checkTransport, CliError, oauthOptions } from './http.ts';

/** The parts of a WWW-Authenticate challenge a client acts on (RFC 6750 §3, RFC 9728 §5.1). */
export interface Challenge {
  scheme: string;
  error?: string;
  scope?: string;
  resource_metadata?: string;
}

/** Parses the Bearer (or DPoP) challenge of a 401/403 (RFC 9110 §11.6.1 auth-params). */
export function parseChallenge(response: Response): Challenge | undefined {
  const header = response.headers.get('www-authenticate');
  if (!header) return undefined;
  const challenges = parseChallenges(header);
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'dpop') ?? challenges[0];
}

/** Every challenge in a WWW-Authenticate value: scheme, then name=value or name="quoted" params. */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let current: Record<string, string> | undefined;
  const token = /\s*,?\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*))?/gy;
  let match: RegExpExecArray | null;
  while ((match = token.exec(header))) {
    const [, name, rawValue] = match;
    if (rawValue === undefined) {
      // A bare token starts a new challenge (the scheme); token68 values are not used by MCP.
      current = { scheme: name!.toLowerCase() };
      challenges.push(current as unknown as Challenge);
      continue;
    }
    if (!current) continue;
    const value = rawValue.startsWith('"') ? rawValue.slice(1, -1).replace(/\\(.)/g, '$1') : rawValue;
    current[name!.toLowerCase()] = value;
    if (token.lastIndex >= header.length) break;
  }
  return challenges;
}

export interface ResourceMetadata {
  resource: string;
  authorization_servers?: string[];
  scopes_supported?: string[];
  [key: string]: unknown;
}

/**
 * RFC 9728: the URL named in the challenge, else the path-aware well-known URL, else the root
 * one. The metadata's `resource` must be the server we called (same origin, our path within
 * its path): otherwise a server could send us to collect tokens for another resource.
 */
export async function discoverResource(mcpUrl: URL, challenge: Challenge | undefined, fetchImpl: typeof fetch): Promise<ResourceMetadata> {
  const candidates: URL[] = [];
  if (challenge?.resource_metadata) {
    const named = new URL(challenge.resource_metadata, mcpUrl);
    checkTransport(named, 'the resource metadata URL');
    candidates.push(named);
  }
  const path = mcpUrl.pathname.replace(/\/$/, '');
  if (path) candidates.push(new URL(`/.well-known/oauth-protected-resource${path}`, mcpUrl));
  candidates.push(new URL('/.well-known/oauth-protected-resource', mcpUrl));

  for (const url of candidates) {
    const response = await fetchImpl(url, { headers: { accept: 'application/json' } });
    if (!response.ok) continue;
    let body: ResourceMetadata;
    try {
      body = (await response.json()) as ResourceMetadata;
    } catch {
      continue;
    }
    if (typeof body?.resource !== 'string') continue;
    if (!resourceCovers(body.resource, mcpUrl))
      throw new CliError(`the server's protected resource metadata names ${body.resource}, not ${mcpUrl.href}: refusing to sign in for it`);
    return body;
  }
  throw new CliError(`${mcpUrl.href} asks for authorization but publishes no protected resource metadata (RFC 9728)`);
}

/** RFC 9728 §3.3 / RFC 8707: the metadata's resource is our URL, or a path prefix of it on the same origin. */
export function resourceCovers(resource: string, mcpUrl: URL): boolean {
  let r: URL;
  try {
    r = new URL(resource);
  } catch {
    return false;
  }
  if (r.origin !== mcpUrl.origin) return false;
  const base = r.pathname.endsWith('/') ? r.pathname : `${r.pathname}/`;
  const ours = mcpUrl.pathname.endsWith('/') ? mcpUrl.pathname : `${mcpUrl.pathname}/`;
  return ours.startsWith(base);
}

/**
 * RFC 8414 / OpenID discovery in the order MCP asks for, issuers with a path included:
 * oauth-authorization-server with the path inserted, openid-configuration inserted, then
 * openid-configuration appended. oauth4webapi checks the document's issuer equals the one we
 * built the URL from (a mismatch is refused, never used).
 */
export async function discoverAuthorizationServer(issuer: string, fetchImpl: typeof fetch): Promise<oauth.AuthorizationServer> {
  const issuerUrl = new URL(issuer);
  checkTransport(issuerUrl, 'the authorization server');
  const path = issuerUrl.pathname.replace(/\/$/, '');
  const urls = [
    new URL(`/.well-known/oauth-authorization-server${path}`, issuerUrl),
    new URL(`/.well-known/openid-configuration${path}`, issuerUrl),
    ...(path ? [new URL(`${path}/.well-known/openid-configuration`, issuerUrl)] : []),
  ];
  for (const url of urls) {
    const response = await fetchImpl(url, { headers: { accept: 'application/json' } });
    if (response.status === 404 || response.status === 405 || response.status >= 500) continue;
    if (!response.ok) continue;
    try {
      return await oauth.processDiscoveryResponse(issuerUrl, response);
    } catch (error) {
      throw new CliError(`the authorization server metadata at ${url.href} is not usable: ${(error as Error).message}`);
    }
  }
  throw new CliError(`no authorization server metadata for ${issuer} (tried ${urls.map((u) => u.href).join(', ')})`);
}

export { oauthOptions };
