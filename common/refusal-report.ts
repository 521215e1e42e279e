/**
 * The refusal report a resource server sends with each pull of the revocation feed, and that the
 * auth server records for its admin dashboard. The resource server is another process with no
 * access to the auth server's database; it already calls the auth server every poll interval with
 * its own client credentials, so the counts ride on that request instead of a new endpoint, a
 * new credential or a shared database. One definition here so both sides agree on the format.
 *
 * The header's value is a JSON object from a refusal kind (`<status> <error>`) to how many
 * requests were refused that way since the last report the auth server acknowledged.
 */
export const REFUSAL_REPORT_HEADER = 'resource-server-refusals';

/**
 * The kinds a report may name: the token gate's refusals by HTTP status and error code
 * (`missing_token` for a request with no token at all). Anything else the resource server maps
 * to `other`, so the auth server can refuse unknown keys and its table stays small.
 */
export const REFUSAL_KINDS: readonly string[] = [
  '400 invalid_request',
  '401 missing_token',
  '401 invalid_token',
  '401 invalid_dpop_proof',
  '401 use_dpop_nonce',
  '403 insufficient_scope',
  '503 temporarily_unavailable',
  'other',
];

/** The largest count one report carries per kind; a larger backlog goes in the next reports. */
export const REFUSAL_REPORT_MAX_COUNT = 1_000_000_000;

/** The longest header value the auth server reads (every kind at the maximum fits). */
export const REFUSAL_REPORT_MAX_LENGTH = 512;

/**
 * The kind a refusal is counted as.
 *
 * ```ts source="./refusal-report.examples.ts#refusalKind"
 * refusalKind(401, undefined); // '401 missing_token'
 * refusalKind(418, 'teapot'); // 'other'
 * ```
 */
export function refusalKind(status: number, error: string | undefined): string {
  const kind = `${status} ${error ?? 'missing_token'}`;
  return REFUSAL_KINDS.includes(kind) ? kind : 'other';
}

/**
 * Reads a report header: the counts by kind (zeros left out), or a message saying why it is not
 * one. Known kinds only, whole counts from 0 to REFUSAL_REPORT_MAX_COUNT, bounded length.
 *
 * ```ts source="./refusal-report.examples.ts#parseRefusalReport"
 * parseRefusalReport('{"401 invalid_token":3}'); // { counts: { '401 invalid_token': 3 } }
 * parseRefusalReport('{"x":1}'); // { error: 'unknown refusal kind "x"' }
 * ```
 */
export function parseRefusalReport(value: string): { counts: Record<string, number> } | { error: string } {
  if (value.length > REFUSAL_REPORT_MAX_LENGTH) return { error: `longer than ${REFUSAL_REPORT_MAX_LENGTH} characters` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { error: 'not JSON' };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return { error: 'not a JSON object' };
  const counts: Record<string, number> = {};
  for (const [kind, count] of Object.entries(parsed)) {
    if (!REFUSAL_KINDS.includes(kind)) return { error: `unknown refusal kind ${JSON.stringify(kind.slice(0, 40))}` };
    if (!Number.isSafeInteger(count) || (count as number) < 0 || (count as number) > REFUSAL_REPORT_MAX_COUNT)
      return { error: `the count for "${kind}" is not a whole number from 0 to ${REFUSAL_REPORT_MAX_COUNT}` };
    if ((count as number) > 0) counts[kind] = count as number;
  }
  return { counts };
}
