import type { FindAccount } from 'oidc-provider';
import type { AccountStore } from '../storage/store.ts';

/**
 * Makes oidc-provider's `findAccount` setting from the account store. `sub` is the account's
 * random id. `claims()` returns every claim we hold; oidc-provider itself releases only those
 * the granted scopes map to (its `claims` setting), so no filtering is repeated here. A disabled
 * account is not found.
 *
 * ```ts source="./claims.examples.ts#findAccountFor"
 * const provider = new Provider(issuer, { findAccount: findAccountFor(storage.accounts) });
 * ```
 */
export function findAccountFor(accounts: AccountStore): FindAccount {
  // oidc-provider looks the account up more than once in one request (a refresh: the grant
  // check, then the token's claims); one read per request and subject is enough, and the memo
  // goes away with the request's context.
  const perRequest = new WeakMap<object, Map<string, ReturnType<AccountStore['findById']>>>();
  return async (ctx, sub) => {
    let memo = typeof ctx === 'object' && ctx !== null ? perRequest.get(ctx) : undefined;
    if (!memo && typeof ctx === 'object' && ctx !== null) perRequest.set(ctx, (memo = new Map()));
    let lookup = memo?.get(sub);
    if (!lookup) {
      lookup = accounts.findById(sub);
      memo?.set(sub, lookup);
    }
    const account = await lookup;
    // A disabled account is "not found" to oidc-provider: it then refuses its refresh tokens,
    // authorization codes and userinfo requests, whatever was issued before it was disabled.
    if (!account || account.disabledAt !== null) return undefined;
    return {
      accountId: account.id,
      // Not a claim: audit lines name the user by it (provider/audit-events.ts).
      username: account.username,
      // Not a claim either: extraTokenClaims puts them in the access token without reading the account again.
      roles: account.roles,
      async claims() {
        return {
          sub: account.id,
          name: account.name ?? undefined,
          email: account.email ?? undefined,
          // We never send mail, so no address is verified.
          email_verified: account.email ? false : undefined,
          preferred_username: account.username,
          roles: account.roles,
        };
      },
    };
  };
}
