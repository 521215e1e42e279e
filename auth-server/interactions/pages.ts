import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import type { Context } from 'koa';
import { warmFormBody } from './form-body.ts';

export const VIEWS_DIR = fileURLToPath(new URL('../../views/', import.meta.url));

/**
 * Security headers for every HTML page: no scripts at all, no framing (clickjacking on the
 * consent page), no referrer leaking codes or interaction ids. No `form-action`: browsers apply it
 * to the redirects after a form post, and consent redirects to the client's own origin.
 */
const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
};

export interface Pages {
  /** Renders `views/<name>.eta` inside the layout and sends it with the page headers. */
  send(ctx: Context, name: string, data: Record<string, unknown>, status?: number): void;
  /** The friendly error page. */
  sendError(
    ctx: Context,
    status: number,
    error: {
      heading?: string;
      message: string;
      code?: string;
      description?: string;
      /** A link back to the step that can be tried again. */ retry?: string;
    },
  ): void;
}

/**
 * The page renderer: Eta templates, HTML-escaped by default (`<%= %>`); raw output (`<%~ %>`) is
 * used only for markup oidc-provider itself builds (its device and logout forms).
 *
 * ```ts source="./pages.examples.ts#createPages"
 * const pages = createPages({ issuer: 'http://localhost:3000', assets: '/assets' });
 * pages.send(ctx, 'login', { client, csrf, action });
 * ```
 */
export function createPages(options: { issuer: string; assets: string }): Pages {
  const eta = new Eta({ views: VIEWS_DIR, autoEscape: true, cache: true, autoTrim: false });
  const common = { assets: options.assets, issuerHost: new URL(options.issuer).host };

  const send: Pages['send'] = (ctx, name, data, status = 200) => {
    const html = eta.render(`./${name}`, { title: titleOf(name), ...common, ...data });
    ctx.status = status;
    ctx.set(PAGE_HEADERS);
    ctx.type = 'html';
    ctx.body = html;
    // Most of our pages hold a form: its parser loads now, not when the person posts it.
    warmFormBody();
  };

  return {
    send,
    sendError(ctx, status, error) {
      send(ctx, 'error', { title: 'Error', heading: error.heading ?? 'Something went wrong', ...error }, status);
    },
  };
}

function titleOf(view: string): string {
  const titles: Record<string, string> = {
    login: 'Sign in',
    consent: 'Allow access',
    'device-input': 'Connect a device',
    'device-confirm': 'Confirm the device',
    'device-success': 'Device connected',
    logout: 'Sign out',
    'logout-success': 'Signed out',
    error: 'Error',
    home: 'Authorization server',
    'account-login': 'Sign in',
    'account-tokens': 'Personal access tokens',
  };
  return titles[view] ?? 'MCP OAuth';
}
