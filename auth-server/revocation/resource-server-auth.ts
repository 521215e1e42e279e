import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { isResourceServerClient } from '../provider/client-policy.ts';

/** Who a request's HTTP Basic credentials name: the resource server's client, another client, or nobody. */
export type CallerCheck = 'resource-server' | 'other-client' | 'unauthenticated';

/**
 * Authenticates a resource server by its client credentials in HTTP Basic (RFC 6749 §2.3.1:
 * both parts form-urlencoded), the way it authenticates at the introspection endpoint. The
 * secret is compared by oidc-provider's own Client (so however it stores secrets, this agrees),
 * and only a client the operator marked RESOURCE_SERVER passes. A disabled or unknown client is
 * unauthenticated, like a wrong secret.
 */
export async function checkResourceServer(provider: Provider, ctx: Context): Promise<CallerCheck> {
  return (await authenticateResourceServer(provider, ctx)).check;
}

/** checkResourceServer, with the resource server's client id when it is one (who reported refusals). */
export async function authenticateResourceServer(
  provider: Provider,
  ctx: Context,
): Promise<{ check: 'resource-server'; clientId: string } | { check: Exclude<CallerCheck, 'resource-server'> }> {
  const check = await callerOf(provider, ctx);
  return check.check === 'resource-server' ? check : { check: check.check };
}

async function callerOf(provider: Provider, ctx: Context): Promise<{ check: CallerCheck; clientId: string }> {
  const unauthenticated = { check: 'unauthenticated' as const, clientId: '' };
  const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(ctx.get('Authorization'));
  if (!match) return unauthenticated;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return unauthenticated;
  let id: string;
  let secret: string;
  try {
    id = decodeURIComponent(decoded.slice(0, colon).replaceAll('+', ' '));
    secret = decodeURIComponent(decoded.slice(colon + 1).replaceAll('+', ' '));
  } catch {
    return unauthenticated;
  }
  if (!id || !secret || id.length > 200 || secret.length > 500) return unauthenticated;
  const client = await provider.Client.find(id).catch(() => undefined);
  if (!client?.clientSecret) return unauthenticated;
  const matches = await (client as unknown as { compareClientSecret(secret: string): Promise<boolean> }).compareClientSecret(secret);
  if (!matches) return unauthenticated;
  return { check: isResourceServerClient(client) ? 'resource-server' : 'other-client', clientId: id };
}
