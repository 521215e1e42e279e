import { renderConsole, type ConsoleDeps, type ConsoleRoutes } from './console-page.ts';

const SHOWN = 200;

/** Audit: the most recent events, filtered by user (username or id), client and event (or family). */
export function auditPages(routes: ConsoleRoutes, deps: ConsoleDeps): void {
  routes.page('/audit', async (ctx) => {
    const text = (name: string) => (typeof ctx.query[name] === 'string' ? (ctx.query[name] as string).trim().slice(0, 256) : '');
    const filter = { user: text('user'), client: text('client'), event: text('event') };
    // A username is what people type; the table keeps the stable id.
    const accountId = filter.user ? ((await deps.storage.accounts.findByUsername(filter.user))?.id ?? filter.user) : undefined;
    await deps.trail.flush();
    const events = await deps.storage.audit.recent({
      accountId,
      clientId: filter.client || undefined,
      event: filter.event || undefined,
      limit: SHOWN,
    });
    renderConsole(deps, ctx, 'audit', { section: 'Audit', filter, events, shown: SHOWN });
  });
}
