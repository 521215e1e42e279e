import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../../common/logger.ts';

type Entity = { clientId?: string; accountId?: string; kind?: string; gty?: string; grantId?: string; jti?: string };

/** Who and from where, never the token value itself. */
function who(ctx: KoaContextWithOIDC | undefined, entity?: Entity) {
  return {
    client_id: entity?.clientId ?? ctx?.oidc?.client?.clientId,
    sub: entity?.accountId ?? ctx?.oidc?.session?.accountId,
    ip: ctx?.ip,
  };
}

/**
 * Maps oidc-provider events to one structured audit line each (subject, client, ip).
 *
 * @example
 * auditEvents(provider, log.child({ audit: true }));
 */
export function auditEvents(provider: Provider, audit: Logger): void {
  type Line = [Record<string, unknown>, string] | [Record<string, unknown>, string, 'info' | 'warn'];
  const on = (event: string, line: (...args: any[]) => Line) => {
    (provider as unknown as NodeJS.EventEmitter).on(event, (...args: unknown[]) => {
      // A listener that throws would fail the request it reports on: auditing must never do that.
      try {
        const [fields, message, level = 'info'] = line(...args);
        audit[level]({ event, ...fields }, message);
      } catch (error) {
        audit.error({ event, err: error }, 'audit listener failed');
      }
    });
  };

  on('grant.success', (ctx: KoaContextWithOIDC) => [{ ...who(ctx), grant_type: ctx.oidc.params?.grant_type }, 'token issued']);
  on('grant.error', (ctx: KoaContextWithOIDC, error: Error & { error?: string; error_description?: string }) => [
    { ...who(ctx), grant_type: ctx.oidc?.params?.grant_type, error: error.error ?? error.message, error_description: error.error_description },
    'token request refused',
    'warn',
  ]);
  on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => [{ ...who(ctx), grant_id: grantId }, 'grant revoked', 'warn']);
  on('refresh_token.consumed', (token: Entity) => [{ client_id: token.clientId, sub: token.accountId, grant_id: token.grantId }, 'refresh token used']);
  on('authorization.success', (ctx: KoaContextWithOIDC) => [who(ctx), 'authorization granted']);
  on('authorization.error', (ctx: KoaContextWithOIDC, error: Error & { error?: string; error_description?: string }) => [
    { ...who(ctx), error: error.error ?? error.message, error_description: error.error_description },
    'authorization refused',
    'warn',
  ]);
  on('registration_create.success', (ctx: KoaContextWithOIDC, client: { clientId: string }) => [
    { client_id: client.clientId, ip: ctx.ip },
    'client registered',
  ]);
  on('registration_create.error', (ctx: KoaContextWithOIDC, error: Error & { error?: string; error_description?: string }) => [
    { ip: ctx.ip, error: error.error ?? error.message, error_description: error.error_description },
    'registration refused',
    'warn',
  ]);
  on('registration_delete.success', (ctx: KoaContextWithOIDC, client: { clientId: string }) => [{ client_id: client.clientId, ip: ctx.ip }, 'client deleted']);
  on('refresh_token.destroyed', (token: Entity) => [{ client_id: token.clientId, sub: token.accountId, grant_id: token.grantId }, 'refresh token revoked']);
  on('revocation.error', (ctx: KoaContextWithOIDC, error: Error & { error?: string }) => [{ ...who(ctx), error: error.error ?? error.message }, 'revocation refused', 'warn']);
  on('end_session.success', (ctx: KoaContextWithOIDC) => [who(ctx), 'signed out']);
  on('server_error', (ctx: KoaContextWithOIDC, error: Error) => [{ ...who(ctx), err: error }, 'server error', 'warn']);
}
