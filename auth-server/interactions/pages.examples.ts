/** Type-checked examples for pages.ts (its JSDoc shows these regions). */
import type { Context } from 'koa';
import type { ClientDisplay } from './client-display.ts';
import { createPages } from './pages.ts';

export function createPagesExample(ctx: Context, client: ClientDisplay, csrf: string, action: string) {
  //#region createPages
  const pages = createPages({ issuer: 'http://localhost:3000', assets: '/assets' });
  pages.send(ctx, 'login', { client, csrf, action });
  //#endregion createPages
}
