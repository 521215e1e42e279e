import type { Pool } from 'pg';
import { REFUSAL_HOURS_KEPT, type RefusalHourCount, type RefusalStore } from './store.ts';

const HOUR = 3_600_000;

/** Refusals reported by the resource servers, per hour, in PostgreSQL (see RefusalStore), shared by every instance. */
export class PostgresRefusalStore implements RefusalStore {
  readonly #pool: Pool;
  readonly #table: string;

  constructor(pool: Pool, schema: string) {
    this.#pool = pool;
    this.#table = `${schema}.resource_server_refusals`;
  }

  async add(hour: number, clientId: string, counts: Readonly<Record<string, number>>): Promise<void> {
    const entries = Object.entries(counts).filter(([, n]) => n > 0);
    if (entries.length === 0) return;
    // One statement and round trip: the upsert adds to what other instances recorded (no lost
    // update: ON CONFLICT locks the row), and the prune keeps the table to REFUSAL_HOURS_KEPT.
    await this.#pool.query(
      `WITH pruned AS (DELETE FROM ${this.#table} WHERE hour < $1)
       INSERT INTO ${this.#table} (hour, client_id, kind, count)
       SELECT $2, $3, kind, count FROM unnest($4::text[], $5::bigint[]) AS r(kind, count)
       ON CONFLICT (hour, client_id, kind) DO UPDATE SET count = ${this.#table}.count + excluded.count`,
      [hour - REFUSAL_HOURS_KEPT * HOUR, hour, clientId, entries.map(([kind]) => kind), entries.map(([, n]) => n)],
    );
  }

  async hourly(since: number): Promise<RefusalHourCount[]> {
    const { rows } = await this.#pool.query(
      `SELECT hour, client_id, kind, count FROM ${this.#table} WHERE hour >= $1 ORDER BY hour, client_id, kind`,
      [since],
    );
    return rows.map((r) => ({ hour: Number(r.hour), clientId: r.client_id as string, kind: r.kind as string, count: Number(r.count) }));
  }
}
