/** Type-checked examples for postgres-prepared.ts (its JSDoc shows these regions). */
import type { Pool } from 'pg';
import { prepared } from './postgres-prepared.ts';

export async function preparedExample(pool: Pool, clientId: string) {
  //#region prepared
  const find = prepared('SELECT payload FROM "public".models WHERE model = $1 AND id = $2');
  const { rows } = await pool.query({ ...find, values: ['Client', clientId] });
  //#endregion prepared
  return rows;
}
