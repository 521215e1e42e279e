import type { Middleware } from 'koa';
import { BodyError, oauthError, readForm } from './request-body.ts';
import { canonicalResource } from './resources.ts';

/**
 * Normalises the `resource` parameter before oidc-provider sees it.
 *
 * Why: oidc-provider compares resource indicators exactly, and a refresh whose resource fails
 * *after* the token lookup consumes the refresh token first; the client's retry then looks like
 * reuse and the whole grant is revoked. So a trailing-slash variant of a known resource is
 * rewritten to the canonical URL, and at the token endpoint an unknown resource is refused here,
 * before any token is touched.
 *
 * ```ts source="./resource-parameter.examples.ts#resourceParameter"
 * app.use(
 *   resourceParameter(['http://localhost:3001/mcp'], {
 *     authorization: '/auth',
 *     token: '/token',
 *     deviceAuthorization: '/device/auth',
 *     par: '/request',
 *   }),
 * );
 * ```
 */
export function resourceParameter(
  known: readonly string[],
  routes: { authorization: string; token: string; deviceAuthorization: string; par: string },
  options: { foreignResourceGrants?: readonly string[] } = {},
): Middleware {
  const foreign = new Set(options.foreignResourceGrants ?? []);
  const formRoutes = new Set([routes.token, routes.deviceAuthorization, routes.par, routes.authorization]);

  return async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === routes.authorization) {
      const query = { ...ctx.query };
      if (rewrite(query, known)) ctx.query = query;
      return next();
    }
    if (ctx.method !== 'POST' || !formRoutes.has(ctx.path) || !ctx.is('application/x-www-form-urlencoded')) {
      return next();
    }
    let form;
    try {
      form = await readForm(ctx);
    } catch (error) {
      if (error instanceof BodyError) return oauthError(ctx, error.status, 'invalid_request', error.message);
      throw error;
    }
    // Grants whose resource is another server's (token exchange for an ID-JAG) are left alone.
    if (ctx.path === routes.token && typeof form.grant_type === 'string' && foreign.has(form.grant_type)) return next();
    rewrite(form, known);
    if (ctx.path === routes.token) {
      const unknown = values(form.resource).find((value) => !known.includes(value));
      if (unknown !== undefined) {
        // Only what the caller sent: the configured resources are not for anonymous callers to list.
        return oauthError(ctx, 400, 'invalid_target', `unknown resource ${unknown}`);
      }
    }
    return next();
  };
}

/** Rewrites `params.resource` in place; returns whether anything changed. */
function rewrite(params: Record<string, unknown>, known: readonly string[]): boolean {
  const original = values(params.resource);
  if (original.length === 0) return false;
  const mapped = original.map((value) => canonicalResource(known, value) ?? value);
  if (mapped.every((value, i) => value === original[i])) return false;
  params.resource = mapped.length === 1 ? mapped[0] : mapped;
  return true;
}

function values(param: unknown): string[] {
  if (param === undefined) return [];
  return (Array.isArray(param) ? param : [param]).filter((v): v is string => typeof v === 'string');
}
