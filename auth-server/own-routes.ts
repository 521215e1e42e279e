import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Router from '@koa/router';
import type { AuthServerConfig } from './config.ts';
import { VIEWS_DIR, type Pages } from './interactions/pages.ts';
import { landingPage } from './landing-page.ts';

/** Health, the landing page, the stylesheet, and the RFC 8414 path-inserted metadata URL for issuers with a path. */
export function ownRoutes(prefix: string, config: AuthServerConfig, pages: Pages): Router {
  const router = new Router();
  const landing = landingPage(config, pages);
  for (const path of new Set([prefix || '/', `${prefix}/`])) router.get(path, landing);
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok', issuer: config.issuer };
  });
  let stylesheet: Promise<string> | undefined;
  router.get(`${prefix}/assets/style.css`, async (ctx) => {
    stylesheet ??= readFile(join(VIEWS_DIR, 'style.css'), 'utf8');
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = await stylesheet;
  });
  if (prefix) {
    for (const name of ['oauth-authorization-server', 'openid-configuration']) {
      router.get(`/.well-known/${name}${prefix}`, async (ctx, next) => {
        ctx.path = `${prefix}/.well-known/${name}`;
        await next();
      });
    }
  }
  return router;
}
