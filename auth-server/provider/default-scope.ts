import type { Middleware } from 'koa';
import type { ProtectedResourceConfig } from '../config.ts';
import { BodyError, oauthError, readForm } from './request-body.ts';
import { canonicalResource } from './resources.ts';

/**
 * Gives an authorization request that names no `scope` the default scopes of the resource(s) it is
 * for, before oidc-provider sees it (RFC 6749 §3.3 lets the server apply a pre-defined default).
 *
 * Why: oidc-provider computes the consent prompt from the requested scopes only. With none it
 * asks for no consent and then, after the user signed in, ends the request with `access_denied`
 * ("resolved without requesting interactions but no scope was granted"). The MCP conformance
 * suite's authorization-code-grant, and some clients, send `resource` but no `scope`. With the
 * default in the request, the consent page names it and the token carries it, and the token
 * response's `scope` tells the client what it got.
 *
 * Requests by reference (`request_uri`, `request`) are left alone: the pushed request already got
 * its default here, and a signed request object cannot be changed. Runs after resourceParameter,
 * so resource values are canonical (and a form body already parsed).
 *
 * ```ts source="./default-scope.examples.ts#defaultScope"
 * app.use(defaultScope(config.resources, { authorization: '/auth', par: '/request', deviceAuthorization: '/device/auth' }));
 * ```
 */
export function defaultScope(
  resources: readonly Pick<ProtectedResourceConfig, 'url' | 'defaultScopes'>[],
  routes: { authorization: string; par: string; deviceAuthorization: string },
): Middleware {
  const byUrl = new Map(resources.map((r) => [r.url, r.defaultScopes]));
  const known = resources.map((r) => r.url);
  // The resource oidc-provider's defaultResource picks when a request names none.
  const fallback = resources[0]?.url;
  const formRoutes = new Set([routes.authorization, routes.par, routes.deviceAuthorization]);

  /** Sets `params.scope` to the defaults when the request names no scope; returns whether it did. */
  function applyDefault(params: Record<string, unknown>): boolean {
    if (params.scope !== undefined && (typeof params.scope !== 'string' || params.scope.trim() !== '')) return false;
    if (params.request_uri !== undefined || params.request !== undefined) return false;
    const named = values(params.resource);
    const targets = named.length ? named.map((value) => canonicalResource(known, value)) : [fallback];
    // An unknown resource gets no default: oidc-provider answers invalid_target for it.
    const scopes = new Set(targets.flatMap((url) => (url ? (byUrl.get(url) ?? []) : [])));
    if (scopes.size === 0) return false;
    params.scope = [...scopes].join(' ');
    return true;
  }

  return async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === routes.authorization) {
      const query = { ...ctx.query };
      if (applyDefault(query)) ctx.query = query;
      return next();
    }
    if (ctx.method !== 'POST' || !formRoutes.has(ctx.path) || !ctx.is('application/x-www-form-urlencoded')) return next();
    let form = (ctx.request as unknown as { body?: unknown }).body;
    if (typeof form !== 'object' || form === null) {
      try {
        form = await readForm(ctx);
      } catch (error) {
        if (error instanceof BodyError) return oauthError(ctx, error.status, 'invalid_request', error.message);
        throw error;
      }
    }
    applyDefault(form as Record<string, unknown>);
    return next();
  };
}

function values(param: unknown): string[] {
  if (param === undefined) return [];
  return (Array.isArray(param) ? param : [param]).filter((v): v is string => typeof v === 'string');
}
