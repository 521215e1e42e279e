import type { DatabaseSync } from 'node:sqlite';
import { REFUSAL_HOURS_KEPT, type RefusalHourCount, type RefusalStore } from './store.ts';

const HOUR = 3_600_000;

/** Refusals reported by the resource servers, per hour, in SQLite (see RefusalStore). */
export class SqliteRefusalStore implements RefusalStore {
  readonly #db: DatabaseSync;
  readonly #prune;
  readonly #since;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#prune = db.prepare('DELETE FROM resource_server_refusals WHERE hour < ?');
    this.#since = db.prepare(
      'SELECT hour, client_id, kind, count FROM resource_server_refusals WHERE hour >= ? ORDER BY hour, client_id, kind',
    );
  }

  async add(hour: number, clientId: string, counts: Readonly<Record<string, number>>): Promise<void> {
    const entries = Object.entries(counts).filter(([, n]) => n > 0);
    if (entries.length === 0) return;
    // One statement: the kinds of one report land together or not at all.
    this.#db
      .prepare(
        `INSERT INTO resource_server_refusals (hour, client_id, kind, count) VALUES ${entries.map(() => '(?, ?, ?, ?)').join(', ')}
         ON CONFLICT (hour, client_id, kind) DO UPDATE SET count = count + excluded.count`,
      )
      .run(...entries.flatMap(([kind, n]) => [hour, clientId, kind, n]));
    this.#prune.run(hour - REFUSAL_HOURS_KEPT * HOUR);
  }

  async hourly(since: number): Promise<RefusalHourCount[]> {
    const rows = this.#since.all(since) as { hour: number; client_id: string; kind: string; count: number }[];
    return rows.map((r) => ({ hour: Number(r.hour), clientId: r.client_id, kind: r.kind, count: Number(r.count) }));
  }
}
