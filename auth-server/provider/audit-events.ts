import Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { ACCESS_FIELD_NAMES, accessLog, type AccessFields, type Logger } from '../../common/logger.ts';
import type { AccountStore } from '../storage/store.ts';

type Entity = { clientId?: string; accountId?: string; kind?: string; gty?: string; grantId?: string; jti?: string };

/** Who and from where, never the token value itself. */
function who(ctx: KoaContextWithOIDC | undefined, entity?: Entity) {
  return {
    client_id: entity?.clientId ?? ctx?.oidc?.client?.clientId,
    // At /token there is no browser session: the account the grant loaded names the subject.
    sub: entity?.accountId ?? ctx?.oidc?.account?.accountId ?? ctx?.oidc?.session?.accountId,
    ip: ctx?.ip,
  };
}

/**
 * The username of `sub` when the request already loaded the account (findAccountFor puts it on
 * the account object), so most lines need no lookup. Entity events (refresh_token.consumed)
 * carry no ctx: oidc-provider's own async-local `Provider.ctx` is the request they belong to.
 */
function loadedUsername(ctx: KoaContextWithOIDC | undefined, sub: string): string | undefined {
  const account = (ctx ?? (Provider.ctx as KoaContextWithOIDC | undefined))?.oidc?.account as
    { accountId?: string; username?: unknown } | undefined;
  return account?.accountId === sub && typeof account.username === 'string' ? account.username : undefined;
}

/**
 * Maps oidc-provider events to one structured audit line each (subject and its username, client,
 * ip). A `sub` alone is a random id nobody recognises in a log; the username is what a person
 * looks for.
 *
 * ```ts source="./audit-events.examples.ts#auditEvents"
 * auditEvents(provider, log.child({ audit: true }), storage.accounts);
 * ```
 */
export function auditEvents(provider: Provider, audit: Logger, accounts: Pick<AccountStore, 'findById'>): void {
  type Level = 'info' | 'warn';
  type Line = [Record<string, unknown>, string] | [Record<string, unknown>, string, Level];
  // Lines of ids only (token issued, refresh token used: several per token request) skip pino's
  // redaction (logger.ts, accessLog); any other field (an error description, an err) keeps it.
  const access = accessLog(audit);
  const write = (event: string, [fields, message, level = 'info']: [Record<string, unknown>, string, Level?]) => {
    for (const name in fields) if (!ACCESS_FIELD_NAMES.has(name)) return audit[level]({ event, ...fields }, message);
    access(level, { event, ...fields } as AccessFields, message);
  };
  const on = (event: string, line: (...args: any[]) => Line) => {
    (provider as unknown as NodeJS.EventEmitter).on(event, (...args: unknown[]) => {
      // A listener that throws would fail the request it reports on: auditing must never do that.
      try {
        const [fields, message, level] = line(...args);
        const sub = typeof fields.sub === 'string' ? fields.sub : undefined;
        if (!sub) return write(event, [fields, message, level]);
        const ctx = args[0] && typeof args[0] === 'object' && 'oidc' in args[0] ? (args[0] as KoaContextWithOIDC) : undefined;
        const username = loadedUsername(ctx, sub);
        if (username) return write(event, [{ ...fields, username }, message, level]);
        // Not loaded by this request (revocation, sign-out): look it up; the line follows shortly.
        accounts.findById(sub).then(
          (account) => write(event, [{ ...fields, username: account?.username }, message, level]),
          () => write(event, [fields, message, level]),
        );
      } catch (error) {
        audit.error({ event, err: error }, 'audit listener failed');
      }
    });
  };

  on('grant.success', (ctx: KoaContextWithOIDC) => [{ ...who(ctx), grant_type: ctx.oidc.params?.grant_type }, 'token issued']);
  on('grant.error', (ctx: KoaContextWithOIDC, error: Error & { error?: string; error_description?: string }) => [
    {
      ...who(ctx),
      grant_type: ctx.oidc?.params?.grant_type,
      error: error.error ?? error.message,
      error_description: error.error_description,
    },
    'token request refused',
    'warn',
  ]);
  on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => [{ ...who(ctx), grant_id: grantId }, 'grant revoked', 'warn']);
  on('refresh_token.consumed', (token: Entity) => [
    { client_id: token.clientId, sub: token.accountId, grant_id: token.grantId },
    'refresh token used',
  ]);
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
  on('registration_delete.success', (ctx: KoaContextWithOIDC, client: { clientId: string }) => [
    { client_id: client.clientId, ip: ctx.ip },
    'client deleted',
  ]);
  on('refresh_token.destroyed', (token: Entity) => [
    { client_id: token.clientId, sub: token.accountId, grant_id: token.grantId },
    'refresh token revoked',
  ]);
  on('revocation.error', (ctx: KoaContextWithOIDC, error: Error & { error?: string }) => [
    { ...who(ctx), error: error.error ?? error.message },
    'revocation refused',
    'warn',
  ]);
  on('end_session.success', (ctx: KoaContextWithOIDC) => [who(ctx), 'signed out']);
  on('server_error', (ctx: KoaContextWithOIDC, error: Error) => [{ ...who(ctx), err: error }, 'server error', 'warn']);
}
