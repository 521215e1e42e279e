import { createHash } from 'node:crypto';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { AuthError } from './bearer.ts';
import { ExpiringCache } from './expiring-cache.ts';
import { IssuerUnavailableError } from './issuer-keys.ts';
import type { Secret } from './secret.ts';

/** The prefix of the auth server's personal access tokens (auth-server/revocation/personal-access-tokens.ts). */
export const PAT_PREFIX = 'mcp_pat_';

export interface PatVerifierOptions {
  /** `<AUTH_INTERNAL_URL>/token/introspection` (RFC 7662). */
  introspectionUrl: string;
  /** The only `iss` accepted in the answer (AUTH_ISSUER). */
  issuer: string;
  /** This server's client at the auth server: only a resource server's client learns about PATs. */
  client: { id: string; secret: Secret };
  /**
   * How long an active answer is reused (ms), never past the token's `exp`. At most the feed's
   * poll interval: a revocation then reaches this server through the feed or the next
   * introspection, whichever comes first.
   */
  cacheMs: number;
  timeoutMs: number;
  cacheSize?: number;
  now?: () => number;
}

interface Introspection {
  active?: unknown;
  iss?: unknown;
  aud?: unknown;
  sub?: unknown;
  client_id?: unknown;
  scope?: unknown;
  exp?: unknown;
  iat?: unknown;
  roles?: unknown;
  pat_id?: unknown;
  pat_name?: unknown;
}

/**
 * Checks a personal access token by introspection at the auth server (which knows its expiry,
 * its account's state and records its last use) and turns the answer into the same AuthInfo a
 * JWT access token gives: `sub` the user, `client_id` `pat:<id>`, its scopes and the user's
 * roles, so scope checks, 403 step-up, tool roles and audit lines work unchanged. Throws
 * AuthError (inactive, wrong audience) or IssuerUnavailableError (the auth server cannot be asked:
 * 503, the token may be good).
 *
 * ```ts source="./personal-access-tokens.examples.ts#createPatVerifier"
 * const verifyPat = createPatVerifier({ introspectionUrl, issuer, client, cacheMs: 10_000, timeoutMs: 2_000 });
 * const authInfo = await verifyPat('mcp_pat_…', 'http://localhost:3001/mcp');
 * ```
 */
export function createPatVerifier(options: PatVerifierOptions): (token: string, audience: string) => Promise<AuthInfo> {
  const now = options.now ?? Date.now;
  const cache = new ExpiringCache<AuthInfo>(options.cacheSize ?? 10_000);
  const basic = `Basic ${Buffer.from(`${formEncode(options.client.id)}:${formEncode(options.client.secret.reveal())}`).toString('base64')}`;

  async function introspect(token: string): Promise<Introspection> {
    let response: Response;
    try {
      response = await fetch(options.introspectionUrl, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      throw new IssuerUnavailableError('personal access token cannot be checked: the introspection request failed', {
        url: options.introspectionUrl,
        cause: error,
      });
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new IssuerUnavailableError(`personal access token cannot be checked: introspection answered HTTP ${response.status}`, {
        url: options.introspectionUrl,
      });
    }
    const answer = (await response.json().catch(() => undefined)) as Introspection | undefined;
    if (typeof answer !== 'object' || answer === null) {
      throw new IssuerUnavailableError('personal access token cannot be checked: introspection answered no JSON object', {
        url: options.introspectionUrl,
      });
    }
    return answer;
  }

  return async (token, audience) => {
    const key = createHash('sha256').update(audience).update('\n').update(token).digest('base64url');
    const cached = cache.get(key, now());
    if (cached) return cached;
    const answer = await introspect(token);
    if (answer.active !== true) throw new AuthError(401, { scheme: 'Bearer', error: 'invalid_token', description: 'token is not active' });
    const exp = typeof answer.exp === 'number' ? answer.exp : 0;
    if (
      answer.iss !== options.issuer ||
      answer.aud !== audience ||
      typeof answer.sub !== 'string' ||
      typeof answer.client_id !== 'string' ||
      exp * 1000 <= now()
    ) {
      throw new AuthError(401, { scheme: 'Bearer', error: 'invalid_token', description: 'token is not for this resource' });
    }
    const authInfo: AuthInfo = {
      token,
      clientId: answer.client_id,
      scopes: typeof answer.scope === 'string' ? answer.scope.split(' ').filter(Boolean) : [],
      expiresAt: exp,
      resource: new URL(audience),
      extra: {
        sub: answer.sub,
        roles: Array.isArray(answer.roles) ? answer.roles.filter((r): r is string => typeof r === 'string') : [],
        iss: answer.iss,
        jti: answer.pat_id,
        iat: answer.iat,
        pat_id: answer.pat_id,
        pat_name: answer.pat_name,
      },
    };
    cache.set(key, authInfo, Math.min(now() + options.cacheMs, exp * 1000));
    return authInfo;
  };
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replaceAll('%20', '+');
}
