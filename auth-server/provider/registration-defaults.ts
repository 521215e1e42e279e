import type { Middleware } from 'koa';
import { BodyError, oauthError, readJsonObject } from './request-body.ts';

/**
 * Fills in what RFC 7591 lets a server decide and oidc-provider would otherwise refuse:
 * a client_credentials-only registration gets no response types and a secret-based auth method
 * (there is no user, so a public client makes no sense). Everything else keeps oidc-provider's
 * validation.
 *
 * @example
 * app.use(registrationDefaults('/reg'));
 */
export function registrationDefaults(registrationPath: string): Middleware {
  return async (ctx, next) => {
    const isRegistration =
      (ctx.method === 'POST' && ctx.path === registrationPath) ||
      (ctx.method === 'PUT' && ctx.path.startsWith(`${registrationPath}/`));
    if (!isRegistration || !ctx.is('application/json')) return next();
    let body: Record<string, unknown>;
    try {
      body = await readJsonObject(ctx);
    } catch (error) {
      if (error instanceof BodyError) return oauthError(ctx, error.status, 'invalid_client_metadata', error.message);
      throw error;
    }
    const grants = body.grant_types;
    if (Array.isArray(grants) && !grants.includes('authorization_code') && body.response_types === undefined) {
      body.response_types = [];
    }
    if (Array.isArray(grants) && grants.includes('client_credentials') && body.token_endpoint_auth_method === undefined) {
      body.token_endpoint_auth_method = 'client_secret_basic';
    }
    return next();
  };
}
