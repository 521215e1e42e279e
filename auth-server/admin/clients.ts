import type { Context } from 'koa';
import { DISABLED, RESOURCE_SERVER, VERIFIED } from '../provider/client-marks.ts';
import type { ModelPayload } from '../storage/store.ts';
import { disableClient, enableClient, revokeGrant } from '../revocation/revocations.ts';
import { actorOf, recordAction, redirectBack, renderConsole, type ConsoleDeps, type ConsoleRoutes } from './console-page.ts';
import { listGrants, listSessions, withUsernames } from './grants.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export type ClientSource = 'DCR' | 'CIMD URL' | 'operator';

export interface ClientView {
  id: string;
  name: string;
  source: ClientSource;
  redirectUris: string[];
  grantTypes: string[];
  disabled: boolean;
  verified: boolean;
  /** Epoch ms of the newest token the audit table remembers, or null. */
  lastToken: number | null;
  activeGrants: number;
}

/**
 * Where a stored client came from: a URL client_id is a metadata document (CIMD); the operator's
 * clients carry its `mc_` ids or what only the operator may give (client_credentials, jwt-bearer,
 * the resource-server mark); anything else registered itself at /reg.
 */
export function clientSource(payload: ModelPayload): ClientSource {
  const id = String(payload.client_id ?? '');
  if (/^https?:\/\//.test(id)) return 'CIMD URL';
  const grants = Array.isArray(payload.grant_types) ? (payload.grant_types as string[]) : [];
  if (id.startsWith('mc_') || payload[RESOURCE_SERVER] === true || grants.includes('client_credentials') || grants.includes(JWT_BEARER))
    return 'operator';
  return 'DCR';
}

function viewOf(payload: ModelPayload, lastTokens: Map<string, number>, grantCounts: Map<string, number>): ClientView {
  const id = String(payload.client_id);
  return {
    id,
    name: typeof payload.client_name === 'string' ? payload.client_name : id,
    source: clientSource(payload),
    redirectUris: Array.isArray(payload.redirect_uris) ? (payload.redirect_uris as string[]) : [],
    grantTypes: Array.isArray(payload.grant_types) ? (payload.grant_types as string[]) : [],
    disabled: payload[DISABLED] === true,
    verified: payload[VERIFIED] === true,
    lastToken: lastTokens.get(id) ?? null,
    activeGrants: grantCounts.get(id) ?? 0,
  };
}

/** Clients: every stored client with its origin, redirect URIs, last token and grants; disable, delete, verify. */
export function clientPages(routes: ConsoleRoutes, deps: ConsoleDeps): void {
  const { models } = deps.storage;

  async function views() {
    await deps.trail.flush();
    const [rows, lastTokens, grants] = await Promise.all([models.list('Client'), deps.storage.audit.lastTokens(), listGrants(models)]);
    const counts = new Map<string, number>();
    for (const g of grants) counts.set(g.clientId, (counts.get(g.clientId) ?? 0) + 1);
    return rows.map((row) => viewOf({ client_id: row.id, ...row.payload }, lastTokens, counts));
  }

  routes.page('/clients', async (ctx) => {
    const clients = (await views()).sort((a, b) => (b.lastToken ?? 0) - (a.lastToken ?? 0) || a.name.localeCompare(b.name));
    renderConsole(deps, ctx, 'clients', { section: 'Clients', clients });
  });

  async function load(ctx: Context): Promise<ModelPayload | undefined> {
    const payload = await models.find('Client', ctx.params.id!);
    if (!payload)
      deps.pages.sendError(ctx, 404, { message: 'There is no such client.', code: 'unknown_client', retry: `${deps.base}/clients` });
    return payload;
  }

  routes.page('/clients/:id', async (ctx) => {
    // The store's find, not oidc-provider's: a disabled client is hidden from the provider only.
    if (!(await load(ctx))) return;
    const client = (await views()).find((c) => c.id === ctx.params.id)!;
    const [grants, sessions, events] = await Promise.all([
      listGrants(models, { clientId: client.id }).then((list) => withUsernames(list, deps.storage.accounts)),
      listSessions(models, { clientId: client.id }).then((list) => withUsernames(list, deps.storage.accounts)),
      deps.storage.audit.recent({ clientId: client.id, limit: 10 }),
    ]);
    renderConsole(deps, ctx, 'client', { section: 'Clients', title: client.name, client, grants, sessions, events });
  });

  /** Stores a changed client without a lifetime, as the CLI does: an operator decision keeps it. */
  async function mark(ctx: Context, change: (payload: ModelPayload) => void, event: string, notice: 'verified') {
    const payload = await load(ctx);
    if (!payload) return;
    change(payload);
    await models.upsert('Client', ctx.params.id!, payload, undefined);
    recordAction(deps, ctx, event, { client_id: ctx.params.id }, `client ${notice} by an admin`);
    redirectBack(deps, ctx, notice);
  }

  // Disabled: unknown to oidc-provider, and the feed refuses the access tokens it already has.
  routes.action('/clients/:id/disable', async (ctx) => {
    if (!(await load(ctx))) return;
    await disableClient(deps.revocation, ctx.params.id!, actorOf(ctx));
    recordAction(deps, ctx, 'client.disabled', { client_id: ctx.params.id }, 'client disabled by an admin');
    redirectBack(deps, ctx, 'disabled');
  });
  routes.action('/clients/:id/enable', async (ctx) => {
    if (!(await load(ctx))) return;
    await enableClient(deps.revocation, ctx.params.id!, actorOf(ctx));
    recordAction(deps, ctx, 'client.enabled', { client_id: ctx.params.id }, 'client enabled by an admin');
    redirectBack(deps, ctx, 'enabled');
  });

  routes.action('/clients/:id/verify', async (ctx) => {
    const payload = await load(ctx);
    if (!payload) return;
    if (clientSource({ client_id: ctx.params.id, ...payload }) !== 'operator') {
      return deps.pages.sendError(ctx, 400, {
        message: 'Only operator clients can be marked verified: a self-registered name is whatever its registrant typed.',
        code: 'not_operator_client',
        retry: `${deps.base}/clients/${encodeURIComponent(ctx.params.id!)}`,
      });
    }
    await mark(ctx, (p) => void (p[VERIFIED] = true), 'client.verified', 'verified');
  });

  routes.action('/clients/:id/delete', async (ctx) => {
    const payload = await load(ctx);
    if (!payload) return;
    const clientId = ctx.params.id!;
    // Its grants and their stored tokens go first: nothing may outlive the client.
    const grants = await listGrants(models, { clientId });
    for (const grant of grants) await revokeGrant(deps.revocation, grant.id, actorOf(ctx));
    // Disabled first, which feeds its access tokens to the resource servers; then gone.
    await disableClient(deps.revocation, clientId, actorOf(ctx));
    await models.destroy('Client', clientId);
    recordAction(deps, ctx, 'client.deleted', { client_id: clientId, grants_revoked: grants.length }, 'client deleted by an admin');
    redirectBack(deps, ctx, 'deleted', `${deps.base}/clients`);
  });
}
