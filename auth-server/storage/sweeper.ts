import type { ModelStore } from './store.ts';

/** The part of a pino logger the sweeper uses. */
export interface SweepLogger {
  debug(object: object, message: string): void;
  error(object: object, message: string): void;
}

/**
 * Deletes expired rows every `intervalMs`. Runs never overlap (a slow sweep delays the next
 * one), a failing sweep is logged and retried next time, and the timer does not keep the
 * process alive. `stop()` resolves once no sweep is running, so storage can be closed after it.
 *
 * ```ts source="./sweeper.examples.ts#startSweeper"
 * const stopSweeper = startSweeper(storage.models, 60_000, logger);
 * // on shutdown:
 * await stopSweeper();
 * await storage.close();
 * ```
 */
export function startSweeper(models: ModelStore, intervalMs: number, logger?: SweepLogger): () => Promise<void> {
  let stopped = false;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const schedule = () => {
    if (stopped) return;
    // setTimeout after each run rather than setInterval: runs cannot pile up behind a slow one.
    timer = setTimeout(run, intervalMs);
    timer.unref();
  };

  const run = () => {
    running = sweepOnce(models, logger).finally(() => {
      running = undefined;
      schedule();
    });
  };

  schedule();

  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await running;
  };
}

async function sweepOnce(models: ModelStore, logger: SweepLogger | undefined): Promise<void> {
  try {
    const removed = await models.sweepExpired();
    if (removed > 0) logger?.debug({ removed }, 'swept expired oidc-provider rows');
  } catch (error) {
    logger?.error({ err: error }, 'sweeping expired oidc-provider rows failed');
  }
}
