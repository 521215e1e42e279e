/** Type-checked examples for landing-page.ts (its JSDoc shows these regions). */
import Router from '@koa/router';
import type { AuthServerConfig } from './config.ts';
import type { Pages } from './interactions/pages.ts';
import { landingPage } from './landing-page.ts';

export function landingPageExample(config: AuthServerConfig, pages: Pages) {
  //#region landingPage
  const router = new Router();
  router.get('/', landingPage(config, pages));
  //#endregion landingPage
}
