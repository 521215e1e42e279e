/** Type-checked examples for audit-events.ts (its JSDoc shows these regions). */
import type Provider from 'oidc-provider';
import type { Logger } from '../../common/logger.ts';
import type { Storage } from '../storage/store.ts';
import { auditEvents } from './audit-events.ts';

export function auditEventsExample(provider: Provider, log: Logger, storage: Storage) {
  //#region auditEvents
  auditEvents(provider, log.child({ audit: true }), storage.accounts);
  //#endregion auditEvents
}
