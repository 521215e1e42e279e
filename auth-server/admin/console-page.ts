import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Logger } from '../../common/logger.ts';
import type { AuthServerConfig } from '../config.ts';
import type { Pages } from '../interactions/pages.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';
import type { LiveProvider } from '../provider/live-provider.ts';
import type { PatContext } from '../revocation/personal-access-tokens.ts';
import type { Storage } from '../storage/store.ts';
import type { AdminSessions, AdminVisitor } from './admin-session.ts';
import type { AuditTrail } from './audit-trail.ts';

export type Admin = Extract<AdminVisitor, { kind: 'admin' }>;

/** What every console page gets. */
export interface ConsoleDeps {
  provider: () => Provider;
  pages: Pages;
  storage: Storage;
  config: AuthServerConfig;
  /** The audit logger (it also records: admin/audit-trail.ts). */
  audit: Logger;
  trail: AuditTrail;
  /** The signing-key store (keys/signing-keys.ts), and the provider holder a rotation refreshes. */
  signingKeys: SigningKeys;
  live: Pick<LiveProvider, 'refresh'>;
  /** Revocations that reach the resource servers (revocation/revocations.ts) and PATs. */
  revocation: PatContext;
  sessions: AdminSessions;
  /** `${prefix}/admin`. */
  base: string;
  /** Epoch ms. */
  now: () => number;
}

/** Fixed notices a redirect can name (`?done=…`): the page never echoes text from the URL. */
const NOTICES: Record<string, string> = {
  saved: 'Saved.',
  disabled: 'Disabled.',
  'user-disabled': 'Disabled; their sessions, grants and stored tokens are revoked.',
  enabled: 'Enabled.',
  deleted: 'Deleted.',
  verified: 'Marked verified.',
  revoked: 'Revoked.',
  rotated: 'Rotated: the next keys sign now (here at once, on other instances within their key poll).',
  'pat-revoked': 'Personal access token revoked.',
};

const SECTIONS = [
  ['', 'Dashboard'],
  ['/users', 'Users'],
  ['/clients', 'Clients'],
  ['/keys', 'Keys'],
  ['/audit', 'Audit'],
] as const;

/** Renders `views/admin/<view>.eta` with the console's frame (navigation, the admin, the CSRF token). */
export function renderConsole(deps: ConsoleDeps, ctx: Context, view: string, data: Record<string, unknown>, status = 200): void {
  const admin = ctx.state.admin as Admin;
  const done = typeof ctx.query.done === 'string' ? NOTICES[ctx.query.done] : undefined;
  deps.pages.send(
    ctx,
    `admin/${view}`,
    {
      base: deps.base,
      nav: SECTIONS.map(([path, name]) => ({ href: `${deps.base}${path}`, name, current: data.section === name })),
      admin: admin.account,
      csrf: admin.csrf,
      back: ctx.originalUrl,
      notice: done,
      signOut: `${deps.config.issuer.replace(/\/$/, '')}/session/end`,
      formatTime,
      shorten,
      ...data,
      title: `${String(data.title ?? data.section ?? 'Admin')} · Admin`,
    },
    status,
  );
}

/** Who acts, as the key and revocation modules record it. */
export function actorOf(ctx: Context): string {
  return `admin:${(ctx.state.admin as Admin).account.id}`;
}

/** One audit line for an admin action, naming the admin. */
export function recordAction(deps: ConsoleDeps, ctx: Context, event: string, fields: Record<string, unknown>, message: string): void {
  const admin = ctx.state.admin as Admin;
  deps.audit.info(
    { event: `admin.${event}`, admin: admin.account.id, admin_username: admin.account.username, ip: ctx.ip, ...fields },
    message,
  );
}

/** A string field of the posted form ('' when missing or repeated), bounded. */
export function field(ctx: Context, name: string, max = 512): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.slice(0, max) : '';
}

/** Back to the page the form was on (or to `to`), with a fixed notice. */
export function redirectBack(deps: ConsoleDeps, ctx: Context, notice: keyof typeof NOTICES | undefined, to?: string): void {
  const back = deps.sessions.consolePath(to ?? field(ctx, 'back'));
  const url = new URL(back, 'http://x');
  if (notice) url.searchParams.set('done', notice);
  else url.searchParams.delete('done');
  ctx.status = 303;
  ctx.redirect(`${url.pathname}${url.search}`);
}

/** UTC, to the minute: what an operator compares with logs. */
export function formatTime(ms: number | null | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** How page modules add their routes: `page` for GETs, `action` for POSTs (CSRF and a fresh sign-in checked first). */
export interface ConsoleRoutes {
  page(path: string, handler: (ctx: Context, admin: Admin) => Promise<void>): void;
  action(path: string, handler: (ctx: Context, admin: Admin) => Promise<void>): void;
}

/** A long id cut for a table cell (the whole id is in the cell's title and link). */
export function shorten(id: string): string {
  return id.length > 14 ? `${id.slice(0, 12)}…` : id;
}
