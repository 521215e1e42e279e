import { RotationTooSoonError } from '../keys/signing-key-set.ts';
import { SigningKeyStoreError } from '../keys/signing-key-store.ts';
import { listSigningKeys, rotateSigningKeys } from '../keys/signing-keys.ts';
import { actorOf, field, recordAction, redirectBack, renderConsole, type ConsoleDeps, type ConsoleRoutes } from './console-page.ts';

/**
 * Keys: the signing keys with their state (next, active, retiring) and when each state ends, and
 * rotation (what `npm run keys -- rotate` does): the next keys sign from now on, this instance at
 * once, the others within AUTH_KEY_POLL_SECONDS, without a restart.
 */
export function keyPages(routes: ConsoleRoutes, deps: ConsoleDeps): void {
  const page = async (ctx: Parameters<Parameters<ConsoleRoutes['page']>[1]>[0], extra: Record<string, unknown> = {}, status = 200) => {
    const keys = await listSigningKeys(deps.signingKeys);
    renderConsole(
      deps,
      ctx,
      'keys',
      {
        section: 'Keys',
        keys,
        store: deps.signingKeys.store.description,
        pollSeconds: deps.config.signingKeys.pollMs / 1000,
        minNextAgeSeconds: deps.config.signingKeys.minNextAgeMs / 1000,
        ...extra,
      },
      status,
    );
  };

  routes.page('/keys', (ctx) => page(ctx));

  routes.action('/keys/rotate', async (ctx) => {
    const force = field(ctx, 'force') === 'yes';
    let result;
    try {
      result = await rotateSigningKeys(deps.signingKeys, { actor: actorOf(ctx), force });
    } catch (error) {
      // Too soon (the next key is not published widely enough yet), or the store moved under us.
      if (error instanceof RotationTooSoonError || error instanceof SigningKeyStoreError) return page(ctx, { error: error.message }, 409);
      throw error;
    }
    // This instance swaps now; the others at their next poll.
    await deps.live.refresh();
    recordAction(
      deps,
      ctx,
      'keys.rotated',
      { activated: result.activated, retired: result.retired, created: result.created, removed: result.removed, force },
      'signing keys rotated by an admin',
    );
    redirectBack(deps, ctx, 'rotated', `${deps.base}/keys`);
  });
}
