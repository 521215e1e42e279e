import type { AuditHourCount } from '../storage/store.ts';
import { renderConsole, type ConsoleDeps, type ConsoleRoutes } from './console-page.ts';
import { stackedBars, type BarSeries } from './svg-chart.ts';

const HOUR = 3_600_000;
const HOURS = 24;
const LOGINS: Record<string, string> = {
  'login.success': 'ok',
  'login.failed': 'failed',
  'login.upstream.failed': 'failed',
  'login.upstream.refused': 'failed',
  'login.locked': 'locked',
};
const REFUSALS: Record<string, string> = {
  'grant.error': 'token requests',
  'authorization.error': 'authorizations',
  'registration_create.error': 'registrations',
  'revocation.error': 'revocations',
};

/** `urn:ietf:params:oauth:grant-type:device_code` → `device_code`. */
function shortGrant(grantType: string | null): string {
  return (grantType ?? 'unknown').replace(/^urn:ietf:params:oauth:grant-type:/, '');
}

/** Buckets `counts` into one series per name (as `nameOf` maps them), over `hours`. */
function seriesOf(counts: AuditHourCount[], hours: number[], nameOf: (c: AuditHourCount) => string | undefined, order: string[] = []) {
  const byName = new Map<string, number[]>(order.map((name) => [name, hours.map(() => 0)]));
  for (const c of counts) {
    const name = nameOf(c);
    const index = hours.indexOf(c.hour);
    if (name === undefined || index < 0) continue;
    if (!byName.has(name))
      byName.set(
        name,
        hours.map(() => 0),
      );
    byName.get(name)![index]! += c.count;
  }
  return [...byName].map(([name, values]): BarSeries => ({ name, values }));
}

/**
 * Dashboard: per hour over the last day, tokens issued by grant type, logins (ok, failed,
 * locked) and the requests this server refused, as server-rendered SVG from the audit table.
 * Refusals at the resource server happen in another process with no access to this database:
 * they are its `resource_server_token_refusals_total` counter on its /metrics, and the page says so.
 */
export function dashboardPage(routes: ConsoleRoutes, deps: ConsoleDeps): void {
  routes.page('', async (ctx) => {
    await deps.trail.flush();
    const last = Math.floor(deps.now() / HOUR) * HOUR;
    const hours = Array.from({ length: HOURS }, (_, i) => last - (HOURS - 1 - i) * HOUR);
    const labels = hours.map((h) => `${new Date(h).toISOString().slice(11, 13)}:00`);
    const counts = await deps.storage.audit.hourly(hours[0]!, ['grant.success', ...Object.keys(LOGINS), ...Object.keys(REFUSALS)]);
    const tokens = seriesOf(counts, hours, (c) => (c.event === 'grant.success' ? shortGrant(c.grantType) : undefined));
    const logins = seriesOf(counts, hours, (c) => LOGINS[c.event], ['ok', 'failed', 'locked']);
    const refusals = seriesOf(counts, hours, (c) => REFUSALS[c.event]);
    const total = (series: BarSeries[]) => series.reduce((sum, s) => sum + s.values.reduce((a, b) => a + b, 0), 0);
    renderConsole(deps, ctx, 'dashboard', {
      section: 'Dashboard',
      charts: [
        { svg: stackedBars('Tokens issued per hour, by grant type (UTC)', labels, tokens), total: total(tokens) },
        { svg: stackedBars('Logins per hour (UTC)', labels, logins), total: total(logins) },
        { svg: stackedBars('Requests refused by this server per hour (UTC)', labels, refusals), total: total(refusals) },
      ],
      resourceMetrics: [...new Set(deps.config.resources.map((r) => `${new URL(r.url).origin}/metrics`))],
    });
  });
}
