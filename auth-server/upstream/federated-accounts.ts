import { randomBytes } from 'node:crypto';
import { isValidUsername } from '../accounts/new-account.ts';
import { AccountExistsError, type Account, type AccountStore } from '../storage/store.ts';
import type { UpstreamIdentity } from './upstream-client.ts';
import type { UpstreamProvider } from './upstream-config.ts';

/**
 * Whoever vouches for a person: an upstream sign-in provider, or an enterprise IdP whose ID-JAG
 * is redeemed (enterprise/id-jag-grant.ts). `id` names its links; `fallbackUsername` is the
 * username base when the identity offers none (default `<id>-user`).
 */
export type AccountSource = Pick<UpstreamProvider, 'id' | 'name' | 'allowedEmailDomains' | 'defaultRole' | 'roles'> & {
  type: 'oidc' | 'oauth2';
  linkByEmail: boolean;
  fallbackUsername?: string;
};

/** Why a federated sign-in is refused; the message is for the person on the page. */
export class FederatedLoginRefused extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'FederatedLoginRefused';
    this.code = code;
  }
}

/**
 * Our roles for an upstream identity: the provider's defaultRole plus every role its mapping
 * gives a value of the configured claim (a string or a list of strings, e.g. `groups`).
 *
 * ```ts source="./federated-accounts.examples.ts#mappedRoles"
 * mappedRoles({ defaultRole: 'user', roles: { claim: 'groups', map: { admins: ['admin'] } } }, { groups: ['admins'] });
 * // → ['user', 'admin']
 * ```
 */
export function mappedRoles(provider: Pick<UpstreamProvider, 'defaultRole' | 'roles'>, claims: Record<string, unknown>): string[] {
  const roles = new Set(provider.defaultRole ? [provider.defaultRole] : []);
  if (provider.roles) {
    const value = claims[provider.roles.claim];
    const values = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
    for (const v of values) for (const role of provider.roles.map[v] ?? []) roles.add(role);
  }
  return [...roles];
}

/**
 * Our account for someone the upstream vouched for:
 * - an identity linked before gets its account, with name, email and (for an account this link
 *   created) roles refreshed from the upstream; a disabled account stays refused;
 * - else, when the operator allowed it for this OIDC provider and the upstream says
 *   `email_verified`, the one local account with that email is linked (its roles stay ours);
 * - else a new account is created just in time, with the mapped roles.
 * Throws FederatedLoginRefused for an email outside allowedEmailDomains or a disabled account.
 */
export async function federatedAccount(accounts: AccountStore, provider: AccountSource, identity: UpstreamIdentity): Promise<Account> {
  checkEmailDomain(provider, identity);
  const roles = mappedRoles(provider, identity.claims);
  const link = await accounts.findLink(provider.id, identity.subject);
  if (link) {
    const account = await accounts.findById(link.accountId);
    if (!account) throw new FederatedLoginRefused('account_missing', 'The account linked to this sign-in no longer exists.');
    return refreshed(accounts, account, identity, link.createdAccount ? roles : account.roles);
  }

  if (provider.type === 'oidc' && provider.linkByEmail && identity.emailVerified && identity.email) {
    const matches = await accounts.findByEmail(identity.email);
    // Two local accounts with one address: which one is meant is not ours to guess.
    if (matches.length === 1) {
      const [account] = matches as [Account];
      if (await accounts.addLink({ providerId: provider.id, subject: identity.subject, accountId: account.id, createdAccount: false })) {
        return refreshed(accounts, account, identity, account.roles);
      }
      return federatedAccount(accounts, provider, identity);
    }
  }

  const created = await createAccount(accounts, provider, identity, roles);
  if (!(await accounts.addLink({ providerId: provider.id, subject: identity.subject, accountId: created.id, createdAccount: true }))) {
    // A parallel first sign-in of the same person linked first: theirs is the account.
    await accounts.remove(created.username);
    return federatedAccount(accounts, provider, identity);
  }
  return created;
}

function checkEmailDomain(provider: AccountSource, identity: UpstreamIdentity): void {
  if (!provider.allowedEmailDomains) return;
  const domain = identity.email?.split('@').pop()?.toLowerCase();
  // An OIDC upstream must vouch for the address; plain OAuth 2 (GitHub) shows only addresses it verified.
  const trusted = provider.type === 'oauth2' || identity.emailVerified;
  if (!domain || !trusted || !provider.allowedEmailDomains.includes(domain)) {
    throw new FederatedLoginRefused(
      'email_domain_not_allowed',
      `Sign-in through ${provider.name} is open to ${provider.allowedEmailDomains.map((d) => `@${d}`).join(', ')} addresses only${
        identity.email ? `, and ${identity.email} is not one${trusted ? '' : ' the provider has verified'}` : ''
      }.`,
    );
  }
}

async function refreshed(accounts: AccountStore, account: Account, identity: UpstreamIdentity, roles: string[]): Promise<Account> {
  if (account.disabledAt !== null) {
    throw new FederatedLoginRefused('account_disabled', 'This account is disabled. Ask the operator to enable it.');
  }
  const profile = { name: identity.name ?? account.name, email: identity.email ?? account.email, roles };
  return (await accounts.updateProfile(account.id, safeProfile(profile))) ?? account;
}

async function createAccount(accounts: AccountStore, provider: AccountSource, identity: UpstreamIdentity, roles: string[]) {
  const base = usernameBase(identity) ?? provider.fallbackUsername ?? `${provider.id}-user`;
  const profile = safeProfile({ name: identity.name, email: identity.email, roles });
  for (let attempt = 1; attempt <= 20; attempt++) {
    const suffix = attempt === 1 ? '' : attempt < 10 ? `-${attempt}` : `-${randomBytes(4).toString('hex')}`;
    const username = `${base.slice(0, 64 - suffix.length)}${suffix}`;
    try {
      // No password anyone knows: this person signs in through the upstream (an operator may set one).
      return await accounts.add({ username, password: randomBytes(24).toString('base64url'), ...profile });
    } catch (error) {
      if (!(error instanceof AccountExistsError)) throw error;
    }
  }
  throw new Error(`no free username for ${base}`);
}

/** preferred_username, else the email's local part, made a valid username; undefined when neither gives one. */
function usernameBase(identity: UpstreamIdentity): string | undefined {
  for (const candidate of [identity.username, identity.email?.split('@')[0]]) {
    const cleaned = candidate
      ?.replace(/[^A-Za-z0-9._@-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 56);
    if (cleaned && isValidUsername(cleaned)) return cleaned;
  }
  return undefined;
}

/** Upstream values our account checks would refuse are dropped, not fatal: a long name is not a reason to refuse sign-in. */
function safeProfile(profile: { name: string | null; email: string | null; roles: string[] }) {
  // eslint-disable-next-line no-control-regex -- finding control characters is this pattern's job
  const control = /[\u0000-\u001f\u007f]/;
  const printable = (v: string | null, max: number) => (v && v.length <= max && !control.test(v) ? v : null);
  const email = printable(profile.email, 254);
  return {
    name: printable(profile.name, 200),
    email: email && /^[^\s@]+@[^\s@]+$/.test(email) ? email : null,
    roles: profile.roles,
  };
}
