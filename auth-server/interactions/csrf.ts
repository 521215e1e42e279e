import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * CSRF tokens for our interaction forms: an HMAC of the interaction id under the cookie keys.
 * The interaction itself is bound to the browser by oidc-provider's signed interaction cookie, so
 * a token that names the interaction is enough; a cross-site attacker can neither read nor
 * compute it. Any cookie key verifies, so rotating cookie keys does not break open pages.
 *
 * ```ts source="./csrf.examples.ts#csrfTokens"
 * const csrf = csrfTokens(cookieKeys);
 * const token = csrf.issue(uid);
 * csrf.verify(uid, token); // → true
 * ```
 */
export function csrfTokens(keys: readonly string[]) {
  const [current] = keys;
  if (!current) throw new Error('at least one cookie key is required');
  const mac = (key: string, uid: string) => createHmac('sha256', key).update(`csrf:${uid}`).digest();

  return {
    issue: (uid: string) => mac(current, uid).toString('base64url'),
    verify(uid: string, token: unknown): boolean {
      if (typeof token !== 'string' || token.length === 0 || token.length > 100) return false;
      const given = Buffer.from(token, 'base64url');
      return keys.some((key) => {
        const expected = mac(key, uid);
        return given.length === expected.length && timingSafeEqual(given, expected);
      });
    },
  };
}
