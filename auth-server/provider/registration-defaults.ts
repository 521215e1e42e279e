import type { Middleware } from 'koa';
import { BodyError, oauthError, readJsonObject } from './request-body.ts';

/**
 * Fills in what RFC 7591 lets a server decide and oidc-provider would otherwise refuse:
 * a registration that names no auth method is a public client (`none`), except a
 * client_credentials client, which gets a secret (there is no user, so a public client makes no
 * sense) and, when it has no code grant, no response types. Whether the client may have
 * client_credentials at all (only with the initial access token) is the client policy's call
 * (client-policy.ts). Everything else keeps oidc-provider's validation.
 *
 * ```ts source="./registration-defaults.examples.ts#registrationDefaults"
 * app.use(registrationDefaults('/reg'));
 * ```
 */
export function registrationDefaults(registrationPath: string): Middleware {
  return async (ctx, next) => {
    const isRegistration =
      (ctx.method === 'POST' && ctx.path === registrationPath) || (ctx.method === 'PUT' && ctx.path.startsWith(`${registrationPath}/`));
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
    if (body.token_endpoint_auth_method === undefined) {
      // Named explicitly, so oidc-provider does not mint a secret for a client that will never use it.
      const machine = Array.isArray(grants) && grants.includes('client_credentials');
      body.token_endpoint_auth_method = machine ? 'client_secret_basic' : 'none';
    }
    return next();
  };
}
