import { createHash } from 'node:crypto';

/** A statement pg prepares once per connection (by name) and then only binds and executes. */
export interface Prepared {
  name: string;
  text: string;
}

/**
 * Names a statement after a hash of its text (which includes the schema), so PostgreSQL parses
 * and plans it once per pooled connection instead of on every request: the hot statements of a
 * token request run thousands of times a second. Pass it as `pool.query({ ...statement, values })`.
 *
 * ```ts source="./postgres-prepared.examples.ts#prepared"
 * const find = prepared('SELECT payload FROM "public".models WHERE model = $1 AND id = $2');
 * const { rows } = await pool.query({ ...find, values: ['Client', clientId] });
 * ```
 */
export function prepared(text: string): Prepared {
  return { name: `s_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`, text };
}
