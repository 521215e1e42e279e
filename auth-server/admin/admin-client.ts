import type { KoaContextWithOIDC } from 'oidc-provider';
import { VERIFIED } from '../provider/client-marks.ts';

/** The admin console's own client: static (in the provider's configuration), never stored. */
export const ADMIN_CLIENT_ID = 'admin-console';

/** Where the console's sign-in comes back (`admin/admin-session.ts`). */
export function adminCallbackUrl(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/admin/callback`;
}

/**
 * The console signs its admins in through the ordinary login: an authorization request of this
 * first-party client with `response_type=none` (OAuth 2.0 Multiple Response Types §5). Nothing
 * is issued: the request exists to run our login pages and leave oidc-provider's session (with
 * its login time) behind, which is what the console reads. No code, so no token endpoint, no
 * PKCE and no secret to keep.
 */
export function adminConsoleClient(issuer: string) {
  return {
    client_id: ADMIN_CLIENT_ID,
    client_name: 'Admin console',
    [VERIFIED]: true,
    token_endpoint_auth_method: 'none',
    response_types: ['none'],
    grant_types: [],
    redirect_uris: [adminCallbackUrl(issuer)],
    application_type: 'web',
  };
}

type Grant = { addOIDCScope(scope: string): void; save(): Promise<string> };

/**
 * oidc-provider's `loadExistingGrant`: its default, plus a grant of `openid` for the console's
 * own client, so an admin is not asked to "allow" the console (it is part of this server).
 */
export async function loadExistingGrant(ctx: KoaContextWithOIDC) {
  const { oidc } = ctx;
  const grantId = oidc.result?.consent?.grantId || oidc.session?.grantIdFor(oidc.client!.clientId);
  if (grantId) return oidc.provider.Grant.find(grantId);
  if (oidc.client?.clientId !== ADMIN_CLIENT_ID || !oidc.session?.accountId) return undefined;
  const grant = new oidc.provider.Grant({ clientId: ADMIN_CLIENT_ID, accountId: oidc.session.accountId }) as unknown as Grant;
  grant.addOIDCScope('openid');
  await grant.save();
  return grant as never;
}
