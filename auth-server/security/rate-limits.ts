import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface RateLimitSettings {
  /** Off only for benchmarks. */
  enabled: boolean;
  /** Failed logins per (account, ip) before that pair is locked. */
  loginFailuresPerAccountIp: number;
  /** Failed logins per ip, whatever the account, before the ip is locked. */
  loginFailuresPerIp: number;
  /** Failed logins per account from all ips before it is locked for unknown browsers. */
  loginFailuresPerAccount: number;
  /** How long a login lock lasts (s); every lock ends on its own. */
  loginLockSeconds: number;
  /** Registrations per ip per minute. */
  registrationsPerIpPerMinute: number;
  /** Token requests per client and ip per minute. */
  tokenRequestsPerClientPerMinute: number;
  /** Wrong device user codes (RFC 8628 §5.1) per ip, and per browser session, in one window. */
  deviceCodeFailures: number;
  /** That window (s); the lock ends with it. */
  deviceCodeWindowSeconds: number;
}

export interface RateLimiters {
  loginAccountIp: RateLimiterAbstract;
  loginIp: RateLimiterAbstract;
  loginAccount: RateLimiterAbstract;
  registration: RateLimiterAbstract;
  token: RateLimiterAbstract;
  deviceCodeIp: RateLimiterAbstract;
  deviceCodeSession: RateLimiterAbstract;
}

/**
 * The limiters, in memory by default or in PostgreSQL (shared by every instance) when a pool is
 * given. The windows equal the lock time, so a lock can never outlive its window.
 *
 * ```ts source="./rate-limits.examples.ts#createRateLimiters"
 * const limiters = createRateLimiters(settings); // memory
 * const shared = createRateLimiters(settings, { pool, schema: 'public' });
 * ```
 */
export function createRateLimiters(settings: RateLimitSettings, postgres?: { pool: unknown; schema?: string }): RateLimiters {
  const make = (keyPrefix: string, points: number, duration: number, blockDuration = 0): RateLimiterAbstract => {
    const options = { keyPrefix, points, duration, blockDuration };
    if (!postgres) return new RateLimiterMemory(options);
    return new RateLimiterPostgres({
      ...options,
      storeClient: postgres.pool,
      schemaName: postgres.schema,
      tableName: 'rate_limits',
      // The storage migrations create it (postgres-schema.ts); limiters creating it at once race.
      // Every limiter shares it, told apart by keyPrefix.
      tableCreated: true,
      // Local memory answers for keys already over the limit, so a flood costs no database round trips.
      // Over, not at: a login attempt is counted before its password is checked and taken back
      // when it succeeds (login-throttle.ts), so reaching the limit must not block by itself.
      inMemoryBlockOnConsumed: points + 1,
      inMemoryBlockDuration: blockDuration || duration,
    });
  };
  const lock = settings.loginLockSeconds;
  return {
    loginAccountIp: make('login_account_ip', settings.loginFailuresPerAccountIp, lock, lock),
    loginIp: make('login_ip', settings.loginFailuresPerIp, lock, lock),
    loginAccount: make('login_account', settings.loginFailuresPerAccount, lock, lock),
    registration: make('registration_ip', settings.registrationsPerIpPerMinute, 60),
    token: make('token_client', settings.tokenRequestsPerClientPerMinute, 60),
    deviceCodeIp: make('device_code_ip', settings.deviceCodeFailures, settings.deviceCodeWindowSeconds),
    deviceCodeSession: make('device_code_session', settings.deviceCodeFailures, settings.deviceCodeWindowSeconds),
  };
}

/**
 * Seconds until `key` may act again on `limiter`, or 0 when it is not limited.
 *
 * ```ts source="./rate-limits.examples.ts#blockedFor"
 * const wait = await blockedFor(limiters.loginIp, ip);
 * ```
 */
export async function blockedFor(limiter: RateLimiterAbstract, key: string): Promise<number> {
  const state = await limiter.get(key);
  if (!state || state.consumedPoints < limiter.points) return 0;
  return Math.max(1, Math.ceil(state.msBeforeNext / 1000));
}

/**
 * Counts one hit; returns the seconds to wait when this hit went over the limit, else 0.
 *
 * ```ts source="./rate-limits.examples.ts#hit"
 * const wait = await hit(limiters.registration, ctx.ip);
 * if (wait) reply429(wait);
 * ```
 */
export async function hit(limiter: RateLimiterAbstract, key: string): Promise<number> {
  try {
    await limiter.consume(key);
    return 0;
  } catch (result) {
    if (result instanceof RateLimiterRes) return Math.max(1, Math.ceil(result.msBeforeNext / 1000));
    throw result;
  }
}
