/** Type-checked examples for store.contract.ts (its JSDoc shows these regions). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStorage } from './sqlite-store.ts';
import { describeStorageContract } from './store.contract.ts';

export function describeStorageContractExample() {
  //#region describeStorageContract
  describeStorageContract('SQLite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auth-'));
    return {
      open: ({ now }) => Promise.resolve(openSqliteStorage(dir, { now })),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  });
  //#endregion describeStorageContract
}
