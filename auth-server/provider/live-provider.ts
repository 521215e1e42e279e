import type Koa from 'koa';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';
import type { Logger } from '../../common/logger.ts';
import type { SigningJwk } from '../keys/key-store.ts';
import { assertKeySet, nextExpiry, providerJwks, type SigningKeySet } from '../keys/signing-key-set.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';

export interface LiveProvider {
  /** The provider that serves requests now: ask each time, never keep it. */
  current(): Provider;
  /** Koa middleware: the current provider, mounted at the issuer's path. */
  middleware: Koa.Middleware;
  /** The generation of the key set the current provider was built from. */
  generation(): number;
  /** Checks the key store now (the poll does this every AUTH_KEY_POLL_SECONDS): true when it swapped. */
  refresh(): Promise<boolean>;
  /** Stops polling (on shutdown). */
  stop(): void;
}

export interface LiveProviderOptions {
  keys: SigningKeys;
  /** The set loaded at start (keys/signing-keys.ts loadSigningKeys). */
  initial: SigningKeySet;
  /** Builds a provider with every hook (provider/build-provider.ts). */
  build: (jwks: { keys: SigningJwk[] }) => Provider;
  /** The issuer's path ('' at the root). */
  prefix: string;
  pollMs: number;
  logger: Logger;
}

/**
 * Key rotation without a restart. Every `pollMs` each instance reads the key set's generation
 * (one small read); when it moved, or when a retiring key's time is up, it reads the set, builds a
 * new provider with the new JWKS and swaps it in. The swap is one assignment: a request runs
 * entirely on the provider it started on, the next one on the new one, nothing is refused.
 * Our own routes (interactions, upstream sign-in) ask `current()` per request.
 *
 * A failed read (database down, wrong AUTH_ENCRYPTION_KEY, a key file being edited) keeps the
 * provider there is and logs a warning: keys that worked a second ago still work.
 *
 * ```ts source="./live-provider.examples.ts#createLiveProvider"
 * const live = createLiveProvider({ keys, initial, build, prefix: '', pollMs: 5_000, logger });
 * app.use(live.middleware);
 * ```
 */
export function createLiveProvider(options: LiveProviderOptions): LiveProvider {
  const { keys, logger } = options;
  const make = (set: SigningKeySet) => {
    const provider = options.build(providerJwks(set, keys.now()));
    return { set, provider, mounted: mount(options.prefix || '/', provider as unknown as Koa) };
  };
  let live = make(options.initial);
  let running: Promise<boolean> | undefined;
  let lastWarning: string | undefined;

  const check = async (): Promise<boolean> => {
    const expiry = nextExpiry(live.set, keys.now());
    const expired = expiry !== undefined && expiry <= keys.now().getTime();
    if (!expired && (await keys.store.generation()) === live.set.generation) return false;
    const stored = await keys.store.read();
    // An emptied store (keys migrated elsewhere) is no reason to stop signing: keep what we have.
    if (!('set' in stored)) throw new Error(`${keys.store.description} holds no key set any more; keeping the keys loaded`);
    assertKeySet(stored.set, keys.store.description);
    if (stored.set.generation === live.set.generation && !expired) return false;
    const previous = live.set;
    live = make(stored.set);
    logger.info(
      {
        generation: stored.set.generation,
        previous_generation: previous.generation,
        signing: stored.set.keys.filter((k) => k.state === 'active').map((k) => k.jwk.kid),
        published: providerJwks(stored.set, keys.now()).keys.map((k) => k.kid),
      },
      'signing keys changed: new provider in place',
    );
    return true;
  };

  const refresh = (): Promise<boolean> => {
    running ??= check()
      .then(
        (swapped) => {
          lastWarning = undefined;
          return swapped;
        },
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          // Once per distinct problem, not every poll.
          if (message !== lastWarning) logger.warn({ err: error }, `signing keys not reloaded: ${message}`);
          lastWarning = message;
          return false;
        },
      )
      .finally(() => (running = undefined));
    return running;
  };

  const timer = setInterval(() => void refresh(), options.pollMs);
  // Polling alone never keeps the process alive.
  timer.unref();

  return {
    current: () => live.provider,
    middleware: (ctx, next) => live.mounted(ctx, next),
    generation: () => live.set.generation,
    refresh,
    stop: () => clearInterval(timer),
  };
}
