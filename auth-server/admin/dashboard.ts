import { REFUSAL_KINDS } from '../../common/refusal-report.ts';
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
function seriesOf<C extends { hour: number; count: number }>(
  counts: C[],
  hours: number[],
  nameOf: (c: C) => string | undefined,
  order: string[] = [],
) {
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
 * locked) and the requests this server refused, as server-rendered SVG from the audit table;
 * and the token refusals at the resource servers by status and error. Those happen in other
 * processes with no access to this database: each resource server reports its counts with its
 * revocation-feed pulls (revocation/feed-routes.ts), so they are here one poll interval late,
 * and only from resource servers with a feed (RS_CLIENT_ID).
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
    const reported = await deps.storage.refusals.hourly(hours[0]!);
    // Known kinds in a fixed order (the colours stay put from one day to the next); only those seen.
    const atResourceServers = seriesOf(reported, hours, (c) => c.kind).sort(
      (a, b) => REFUSAL_KINDS.indexOf(a.name) - REFUSAL_KINDS.indexOf(b.name),
    );
    const reporters = new Map<string, number>();
    for (const c of reported) reporters.set(c.clientId, (reporters.get(c.clientId) ?? 0) + c.count);
    const total = (series: BarSeries[]) => series.reduce((sum, s) => sum + s.values.reduce((a, b) => a + b, 0), 0);
    renderConsole(deps, ctx, 'dashboard', {
      section: 'Dashboard',
      charts: [
        { svg: stackedBars('Tokens issued per hour, by grant type (UTC)', labels, tokens), total: total(tokens) },
        { svg: stackedBars('Logins per hour (UTC)', labels, logins), total: total(logins) },
        { svg: stackedBars('Requests refused by this server per hour (UTC)', labels, refusals), total: total(refusals) },
        {
          svg: stackedBars('Token refusals at the resource servers per hour, by status and error (UTC)', labels, atResourceServers),
          total: total(atResourceServers),
        },
      ],
      reporters: [...reporters].map(([clientId, count]) => ({ clientId, count })),
      resourceMetrics: [...new Set(deps.config.resources.map((r) => `${new URL(r.url).origin}/metrics`))],
    });
  });
}
