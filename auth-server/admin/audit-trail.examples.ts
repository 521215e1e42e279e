/** Type-checked examples for audit-trail.ts (its JSDoc shows these regions). */
import type { Logger } from '../../common/logger.ts';
import type { Account, Storage } from '../storage/store.ts';
import { auditTrail } from './audit-trail.ts';

export function auditTrailExample(logger: Logger, storage: Storage, adminId: string, account: Account) {
  //#region auditTrail
  const trail = auditTrail(logger.child({ audit: true }), storage.audit);
  trail.logger.info({ event: 'admin.user.created', admin: adminId, sub: account.id }, 'user created');
  //#endregion auditTrail
}
