/**
 * Catches typos in our settings: a variable with one of our prefixes that no server reads is
 * otherwise silently ignored (`AUTH_ISUER=https://…` leaves the issuer at its default).
 *
 * Both servers and `npm start` read one environment, and each server reads some of the other's
 * variables (the issuer, the resource URL), so the list is the union of both servers' schemas.
 * It is data here because the servers share no source; config-table.test.ts checks that it
 * equals the prefixed keys of `authServerEnv` and `resourceServerEnv`, naming any difference.
 */
export const SETTING_PREFIXES = ['AUTH_', 'RS_', 'MCP_'] as const;

export const KNOWN_SETTINGS: readonly string[] = [
  'AUTH_ACCESS_TOKEN_TTL',
  'AUTH_CIMD',
  'AUTH_CLIENT_ASSERTION_AUD_COMPAT',
  'AUTH_DEFAULT_SCOPES',
  'AUTH_DEVICE_CODE_MAX_FAILURES',
  'AUTH_ENCRYPTION_KEY',
  'AUTH_ENCRYPTION_KEY_PREVIOUS',
  'AUTH_KEY_STORE',
  'AUTH_KEY_POLL_SECONDS',
  'AUTH_KEY_MIN_NEXT_AGE',
  'AUTH_DEVICE_CODE_WINDOW_SECONDS',
  'AUTH_EXTRA_RESOURCES',
  'AUTH_FETCH_TIMEOUT_MS',
  'AUTH_GRANT_TTL',
  'AUTH_HOST',
  'AUTH_ID_JAG_TARGETS',
  'AUTH_INITIAL_ACCESS_TOKEN',
  'AUTH_INTERNAL_URL',
  'AUTH_ISSUER',
  'AUTH_JWKS_URL',
  'AUTH_LOCAL_LOGIN',
  'AUTH_LOGIN_LOCK_SECONDS',
  'AUTH_LOGIN_MAX_FAILURES',
  'AUTH_METRICS_PORT',
  'AUTH_PAT_MAX_DAYS',
  'AUTH_PORT',
  'AUTH_PRUNE_UNUSED_CLIENTS_DAYS',
  'AUTH_RATE_LIMITS',
  'AUTH_REFRESH_GRACE_SECONDS',
  'AUTH_REGISTRATIONS_PER_MINUTE',
  'AUTH_RESOURCE_SCOPES',
  'AUTH_SESSION_TTL',
  'AUTH_SQLITE_SYNCHRONOUS',
  'AUTH_SWEEP_INTERVAL',
  'AUTH_TOKEN_REQUESTS_PER_MINUTE',
  'AUTH_TRUST_PROXY',
  'AUTH_TRUSTED_IDPS',
  'AUTH_UPSTREAMS',
  'MCP_ALLOWED_ORIGINS',
  'MCP_AUTH_DISABLED',
  'MCP_MAX_SESSIONS',
  'MCP_MAX_SESSIONS_PER_CLIENT',
  'MCP_MAX_SESSIONS_PER_IP',
  'MCP_MAX_SESSIONS_PER_USER',
  'MCP_SESSION_IDLE_TTL_MS',
  'MCP_STATELESS',
  'MCP_TOOL_POLICY',
  'MCP_TOOLS_MODULE',
  'MCP_UPSTREAM_ARGS',
  'MCP_UPSTREAM_AUDIENCE',
  'MCP_UPSTREAM_COMMAND',
  'MCP_UPSTREAM_ENV',
  'MCP_UPSTREAM_IDENTITY',
  'MCP_UPSTREAM_JWT_KEY_FILE',
  'MCP_UPSTREAM_TIMEOUT_MS',
  'MCP_UPSTREAM_URL',
  'RS_CLIENT_ID',
  'RS_CLIENT_SECRET',
  'RS_CLOCK_TOLERANCE_S',
  'RS_HOST',
  'RS_JWKS_COOLDOWN_MS',
  'RS_METRICS_PORT',
  'RS_PORT',
  'RS_RESOURCE_DOCUMENTATION',
  'RS_RESOURCE_NAME',
  'RS_RESOURCE_URL',
  'RS_REVOCATION_MAX_STALENESS',
  'RS_REVOCATION_POLL_SECONDS',
  'RS_TOKEN_CACHE_SIZE',
  'RS_TRUST_PROXY',
  'RS_UPSTREAM_USERINFO',
];

export interface UnknownSetting {
  variable: string;
  /** The known setting with the smallest edit distance. */
  closest: string;
  message: string;
}

/**
 * Every variable with one of our prefixes that no server reads, each with the closest known name.
 *
 * ```ts source="./unknown-env.examples.ts#unknownSettings"
 * unknownSettings({ AUTH_ISUER: 'https://auth.example' });
 * // → [{ variable: 'AUTH_ISUER', closest: 'AUTH_ISSUER', message: 'AUTH_ISUER is not a setting … did you mean AUTH_ISSUER?' }]
 * ```
 */
export function unknownSettings(env: Record<string, string | undefined>, known: readonly string[] = KNOWN_SETTINGS): UnknownSetting[] {
  const knownSet = new Set(known);
  return Object.keys(env)
    .filter((name) => Boolean(env[name]) && SETTING_PREFIXES.some((prefix) => name.startsWith(prefix)) && !knownSet.has(name))
    .sort()
    .map((variable) => {
      const closest = closestName(variable, known);
      return { variable, closest, message: `${variable} is not a setting of either server and is ignored; did you mean ${closest}?` };
    });
}

function closestName(name: string, candidates: readonly string[]): string {
  let best = candidates[0] ?? '';
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

/** Levenshtein distance where swapping two neighbours counts as one edit (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
