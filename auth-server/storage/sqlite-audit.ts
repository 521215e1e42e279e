import type { DatabaseSync } from 'node:sqlite';
import { sqliteTransaction } from './sqlite-transaction.ts';
import type { AuditEntry, AuditFilter, AuditHourCount, AuditRecord, AuditStore } from './store.ts';

interface AuditRow {
  id: number;
  at: number;
  event: string;
  level: AuditEntry['level'];
  account_id: string | null;
  username: string | null;
  client_id: string | null;
  admin_id: string | null;
  grant_type: string | null;
  ip: string | null;
  message: string;
  detail: string;
}

const HOUR = 3_600_000;

/** The bounded audit table in SQLite (see AuditStore). */
export class SqliteAuditStore implements AuditStore {
  readonly #db: DatabaseSync;
  readonly #insert;
  readonly #trim;
  readonly #inTransaction;

  constructor(db: DatabaseSync, kept: number) {
    this.#db = db;
    this.#inTransaction = sqliteTransaction(db, 'immediate');
    this.#insert = db.prepare(`
      INSERT INTO audit_events (at, event, level, account_id, username, client_id, admin_id, grant_type, ip, message, detail)
      VALUES (:at, :event, :level, :accountId, :username, :clientId, :adminId, :grantType, :ip, :message, :detail)`);
    // Ids only grow, so "beyond the bound" is an id range: one index range delete.
    this.#trim = db.prepare(`DELETE FROM audit_events WHERE id <= (SELECT max(id) FROM audit_events) - ${Math.max(1, Math.trunc(kept))}`);
  }

  async append(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    this.#inTransaction(() => {
      for (const entry of entries) this.#insert.run({ ...entry });
      this.#trim.run();
    });
  }

  async recent(filter: AuditFilter): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: Record<string, string | number> = { limit: Math.max(1, Math.min(1000, Math.trunc(filter.limit))) };
    if (filter.accountId) {
      where.push('account_id = :accountId');
      params.accountId = filter.accountId;
    }
    if (filter.clientId) {
      where.push('client_id = :clientId');
      params.clientId = filter.clientId;
    }
    if (filter.event) {
      where.push("(event = :event OR substr(event, 1, length(:event) + 1) = :event || '.')");
      params.event = filter.event;
    }
    const rows = this.#db
      .prepare(`SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT :limit`)
      .all(params) as unknown as AuditRow[];
    return rows.map(fromRow);
  }

  async hourly(since: number, events: readonly string[]): Promise<AuditHourCount[]> {
    if (events.length === 0) return [];
    const rows = this.#db
      .prepare(
        `SELECT (at / ${HOUR}) * ${HOUR} AS hour, event, grant_type, count(*) AS count FROM audit_events
         WHERE at >= ? AND event IN (${events.map(() => '?').join(', ')})
         GROUP BY hour, event, grant_type ORDER BY hour`,
      )
      .all(since, ...events) as { hour: number; event: string; grant_type: string | null; count: number }[];
    return rows.map((r) => ({ hour: Number(r.hour), event: r.event, grantType: r.grant_type, count: Number(r.count) }));
  }

  async lastTokens(): Promise<Map<string, number>> {
    const rows = this.#db
      .prepare(
        "SELECT client_id, max(at) AS at FROM audit_events WHERE event = 'grant.success' AND client_id IS NOT NULL GROUP BY client_id",
      )
      .all() as { client_id: string; at: number }[];
    return new Map(rows.map((r) => [r.client_id, Number(r.at)]));
  }
}

function fromRow(row: AuditRow): AuditRecord {
  return {
    id: Number(row.id),
    at: Number(row.at),
    event: row.event,
    level: row.level,
    accountId: row.account_id,
    username: row.username,
    clientId: row.client_id,
    adminId: row.admin_id,
    grantType: row.grant_type,
    ip: row.ip,
    message: row.message,
    detail: row.detail,
  };
}
