/** Type-checked examples for token-request-lock.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import type { Storage } from '../storage/store.ts';
import { tokenRequestLock } from './token-request-lock.ts';

export function tokenRequestLockExample(app: Koa, storage: Storage) {
  //#region tokenRequestLock
  // after app.use(resourceParameter(…)), which parses the form
  app.use(tokenRequestLock({ tokenPath: '/token', locks: storage.locks, replays: storage.replays, graceSeconds: 5 }));
  //#endregion tokenRequestLock
}
