/** Type-checked examples for sweeper.ts (its JSDoc shows these regions). */
import type { Logger } from '../../common/logger.ts';
import type { Storage } from './store.ts';
import { startSweeper } from './sweeper.ts';

export async function startSweeperExample(storage: Storage, logger: Logger) {
  //#region startSweeper
  const stopSweeper = startSweeper(storage.models, 60_000, logger);
  // on shutdown:
  await stopSweeper();
  await storage.close();
  //#endregion startSweeper
}
