import { REDACT_PATHS, type Logger } from '../../common/logger.ts';
import type { AuditEntry, AuditStore } from '../storage/store.ts';

const LEVELS = new Set(['info', 'warn', 'error']);
/** Fields with a column of their own; the rest of the line goes to `detail`. */
const COLUMNS = new Set(['event', 'sub', 'username', 'client_id', 'admin', 'grant_type', 'ip', 'audit']);
const DETAIL_LIMIT = 2_000;
/** What the log redacts (common/logger.ts), redacted here at any depth: the table is read in a browser. */
const SECRET_KEYS = new Set(
  REDACT_PATHS.map((path) =>
    path
      .split('.')
      .at(-1)!
      .replace(/^\["?|"?\]$/g, ''),
  ),
);
const BATCH = 200;
/** Beyond this many unsaved lines (the store is down), new ones are only logged. */
const PENDING_LIMIT = 10_000;

export interface AuditTrail {
  /** The audit logger to hand to everything that writes audit lines: it logs and records. */
  logger: Logger;
  /** Writes what is buffered (the admin pages call it before they read the table). */
  flush(): Promise<void>;
}

/**
 * Every audit line, as written, also goes to the bounded audit table the admin console reads:
 * the one code path that logs an event records it, so the console and the log cannot disagree.
 * Lines are buffered and written in batches (one statement per batch, at most `flushMs` late)
 * so a token request does not wait for an extra database write.
 *
 * ```ts source="./audit-trail.examples.ts#auditTrail"
 * const trail = auditTrail(logger.child({ audit: true }), storage.audit);
 * trail.logger.info({ event: 'admin.user.created', admin: adminId, sub: account.id }, 'user created');
 * ```
 */
export function auditTrail(audit: Logger, store: AuditStore, options: { now?: () => number; flushMs?: number } = {}): AuditTrail {
  const now = options.now ?? Date.now;
  let pending: AuditEntry[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    // Batches are written in order: the table's ids follow the log.
    writing = writing.then(async () => {
      if (batch.length === 0) return;
      try {
        await store.append(batch);
      } catch (error) {
        audit.warn({ event: 'audit.store_failed', lost: batch.length, err: error }, 'audit events not stored (they are in this log)');
      }
    });
    return writing;
  };

  const record = (level: string, fields: Record<string, unknown>, message: unknown) => {
    if (typeof fields.event !== 'string' || fields.event === 'audit.store_failed' || pending.length >= PENDING_LIMIT) return;
    pending.push(entryOf(now(), level as AuditEntry['level'], fields, typeof message === 'string' ? message : ''));
    if (pending.length >= BATCH) void flush();
    else timer ??= setTimeout(() => void flush(), options.flushMs ?? 250).unref();
  };

  const logger = new Proxy(audit, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !LEVELS.has(property) || typeof value !== 'function') return value;
      return (first: unknown, ...rest: unknown[]) => {
        // Recording must never fail the request that writes the line.
        try {
          if (first && typeof first === 'object') record(property, first as Record<string, unknown>, rest[0]);
        } catch {
          /* the line is still logged below */
        }
        return (value as (...args: unknown[]) => unknown).call(target, first, ...rest);
      };
    },
  });
  return { logger, flush };
}

function entryOf(at: number, level: AuditEntry['level'], fields: Record<string, unknown>, message: string): AuditEntry {
  const text = (key: string) => (typeof fields[key] === 'string' ? (fields[key] as string).slice(0, 512) : null);
  const detail: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (COLUMNS.has(key) || value === undefined) continue;
    detail[key] = value instanceof Error ? value.message : value;
  }
  let json = JSON.stringify(detail, (key, value: unknown) => (SECRET_KEYS.has(key) ? '[Redacted]' : value));
  if (json.length > DETAIL_LIMIT) json = JSON.stringify({ truncated: json.slice(0, DETAIL_LIMIT) });
  return {
    at,
    event: (fields.event as string).slice(0, 128),
    level,
    accountId: text('sub'),
    username: text('username'),
    clientId: text('client_id'),
    adminId: text('admin'),
    grantType: text('grant_type'),
    ip: text('ip'),
    message: message.slice(0, 512),
    detail: json,
  };
}
