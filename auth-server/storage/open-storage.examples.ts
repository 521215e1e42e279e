/** Type-checked examples for open-storage.ts (its JSDoc shows these regions). */
import type { Logger } from '../../common/logger.ts';
import { loadConfig } from '../config.ts';
import { openStorage } from './open-storage.ts';

export async function openStorageExample(log: Logger) {
  //#region openStorage
  const storage = await openStorage(loadConfig(process.env), { onError: (e) => log.warn(e) });
  //#endregion openStorage
}
