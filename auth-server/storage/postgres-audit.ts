import type { Pool } from 'pg';
import type { AuditEntry, AuditFilter, AuditHourCount, AuditRecord, AuditStore } from './store.ts';

const HOUR = 3_600_000;
const COLUMNS = [
  'at',
  'event',
  'level',
  'account_id',
  'username',
  'client_id',
  'admin_id',
  'grant_type',
  'ip',
  'message',
  'detail',
] as const;

/** The bounded audit table in PostgreSQL (see AuditStore), shared by every instance. */
export class PostgresAuditStore implements AuditStore {
  readonly #pool: Pool;
  readonly #table: string;
  readonly #kept: number;

  constructor(pool: Pool, schema: string, kept: number) {
    this.#pool = pool;
    this.#table = `${schema}.audit_events`;
    this.#kept = Math.max(1, Math.trunc(kept));
  }

  async append(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const values: unknown[] = [];
    const tuples = entries.map((e) => {
      const row = [e.at, e.event, e.level, e.accountId, e.username, e.clientId, e.adminId, e.grantType, e.ip, e.message, e.detail];
      const start = values.length;
      values.push(...row);
      return `(${row.map((_, i) => `$${start + i + 1}`).join(', ')})`;
    });
    // One statement: the insert and the trim see one snapshot, and ids only grow.
    await this.#pool.query(
      `WITH added AS (INSERT INTO ${this.#table} (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')} RETURNING id)
       DELETE FROM ${this.#table} WHERE id <= (SELECT max(id) FROM added) - ${this.#kept}`,
      values,
    );
  }

  async recent(filter: AuditFilter): Promise<AuditRecord[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (filter.accountId) where.push(`account_id = $${values.push(filter.accountId)}`);
    if (filter.clientId) where.push(`client_id = $${values.push(filter.clientId)}`);
    if (filter.event) {
      const n = values.push(filter.event);
      where.push(`(event = $${n} OR left(event, length($${n}) + 1) = $${n} || '.')`);
    }
    const limit = Math.max(1, Math.min(1000, Math.trunc(filter.limit)));
    const { rows } = await this.#pool.query(
      `SELECT * FROM ${this.#table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${limit}`,
      values,
    );
    return rows.map((row) => ({
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
    }));
  }

  async hourly(since: number, events: readonly string[]): Promise<AuditHourCount[]> {
    if (events.length === 0) return [];
    const { rows } = await this.#pool.query(
      `SELECT (at / ${HOUR}) * ${HOUR} AS hour, event, grant_type, count(*) AS count FROM ${this.#table}
       WHERE at >= $1 AND event = ANY($2) GROUP BY 1, 2, 3 ORDER BY 1`,
      [since, events],
    );
    return rows.map((r) => ({ hour: Number(r.hour), event: r.event, grantType: r.grant_type, count: Number(r.count) }));
  }

  async lastTokens(): Promise<Map<string, number>> {
    const { rows } = await this.#pool.query(
      `SELECT client_id, max(at) AS at FROM ${this.#table} WHERE event = 'grant.success' AND client_id IS NOT NULL GROUP BY client_id`,
    );
    return new Map(rows.map((r) => [r.client_id as string, Number(r.at)]));
  }
}
