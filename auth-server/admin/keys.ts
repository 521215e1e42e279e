import { listKeys, rotateKeys } from '../keys/key-store.ts';
import { recordAction, redirectBack, renderConsole, type ConsoleDeps, type ConsoleRoutes } from './console-page.ts';

/** Keys: the signing keys in KEYS_DIR, and rotation (what `npm run keys -- rotate` does). */
export function keyPages(routes: ConsoleRoutes, deps: ConsoleDeps): void {
  routes.page('/keys', async (ctx) => {
    const keys = await listKeys(deps.config.keysDir);
    renderConsole(deps, ctx, 'keys', { section: 'Keys', keys });
  });

  routes.action('/keys/rotate', async (ctx) => {
    const added = await rotateKeys(deps.config.keysDir, new Date(deps.now()));
    recordAction(deps, ctx, 'keys.rotated', { kids: added }, 'signing keys rotated by an admin');
    redirectBack(deps, ctx, 'rotated', `${deps.base}/keys`);
  });
}
