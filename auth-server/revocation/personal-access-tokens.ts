import { createHash, randomBytes } from 'node:crypto';
import type { ProtectedResourceConfig } from '../config.ts';
import type { Account, PersonalAccessToken } from '../storage/store.ts';
import { NotFoundError, recordPersonalAccessTokenRevocation, type RevocationContext } from './revocations.ts';

/**
 * Personal access tokens (PATs): long-lived bearer tokens a user makes for a script or CI job.
 *
 * Opaque, not JWTs: `mcp_pat_` + 256 random bits. The prefix lets secret scanners find leaked
 * ones; the randomness makes guessing pointless, so a plain SHA-256 is enough to store (a slow
 * hash protects low-entropy passwords, not this). A resource server checks a PAT by RFC 7662
 * introspection at the auth server, which is where expiry, a disabled account and last use are
 * known, and where a signing-key rotation cannot invalidate it. Revocation still goes through the
 * feed, so a resource server that cached an introspection answer refuses it at its next poll.
 */
export const PAT_PREFIX = 'mcp_pat_';

/** Last use is written at most once per this interval per token: introspection stays a read. */
export const LAST_USED_INTERVAL_MS = 60_000;

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;
const DAY_MS = 86_400_000;

/** What creating and checking PATs needs besides the store. */
export interface PatContext extends RevocationContext {
  /** The resources a PAT may be for, with their scopes (config.resources; the first is the default). */
  resources: readonly Pick<ProtectedResourceConfig, 'url' | 'scopes'>[];
  /** AUTH_PAT_MAX_DAYS. */
  maxDays: number;
  /** The issuer, for the introspection answer's `iss`. */
  issuer: string;
}

/** A request the data refuses (bad name, scope beyond the user, too long): the message says why. */
export class PersonalAccessTokenRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PersonalAccessTokenRequestError';
  }
}

export interface NewPersonalAccessToken {
  /** The owner, by username (the CLI) or account (the self-service page). */
  username: string;
  name: string;
  /** Space-separated scopes, each one the resource offers; `…:admin` scopes only for accounts with the admin role. */
  scope: string;
  /** Default: the first configured resource (RS_RESOURCE_URL). */
  resource?: string | undefined;
  /** Default 30, at most AUTH_PAT_MAX_DAYS. */
  expiresInDays?: number | undefined;
  /** Who asks: `cli`, `self`, or `admin:<account id>` (audit, and stored as createdBy). */
  actor: string;
}

/**
 * Creates a PAT. Returns the token, which exists nowhere else afterwards (only its hash is
 * stored: show it once), and its record. Throws NotFoundError (unknown or disabled user),
 * PersonalAccessTokenRequestError, or PersonalAccessTokenExistsError (name taken).
 *
 * ```ts source="./personal-access-tokens.examples.ts#createPersonalAccessToken"
 * const { token } = await createPersonalAccessToken(ctx, {
 *   username: 'alice',
 *   name: 'nightly build',
 *   scope: 'mcp:tools',
 *   expiresInDays: 30,
 *   actor: `admin:${admin.id}`,
 * });
 * ```
 */
export async function createPersonalAccessToken(
  ctx: PatContext,
  request: NewPersonalAccessToken,
): Promise<{ token: string; record: PersonalAccessToken }> {
  const account = await activeAccount(ctx, request.username);
  const name = request.name.trim();
  if (!NAME.test(name)) {
    throw new PersonalAccessTokenRequestError('the name must be 1 to 64 letters, digits, spaces, dots, dashes or underscores');
  }
  const resourceUrl = request.resource ?? ctx.resources[0]?.url;
  const resource = ctx.resources.find((r) => r.url === resourceUrl);
  if (!resource)
    throw new PersonalAccessTokenRequestError(`unknown resource ${resourceUrl}; one of: ${ctx.resources.map((r) => r.url).join(' ')}`);
  const scopes = [...new Set(request.scope.split(/\s+/).filter(Boolean))];
  if (scopes.length === 0) throw new PersonalAccessTokenRequestError('name at least one scope');
  for (const scope of scopes) {
    if (!resource.scopes.includes(scope)) {
      throw new PersonalAccessTokenRequestError(`scope ${scope} is not offered by ${resource.url} (${resource.scopes.join(' ')})`);
    }
    // As on the consent page: an admin scope is only for accounts with the admin role.
    if (scope.endsWith(':admin') && !account.roles.includes('admin')) {
      throw new PersonalAccessTokenRequestError(`scope ${scope} needs the admin role, which ${account.username} does not have`);
    }
  }
  const days = request.expiresInDays ?? Math.min(30, ctx.maxDays);
  if (!Number.isFinite(days) || days <= 0 || days > ctx.maxDays) {
    throw new PersonalAccessTokenRequestError(`the expiry must be more than 0 and at most ${ctx.maxDays} days (AUTH_PAT_MAX_DAYS)`);
  }
  const now = (ctx.now ?? Date.now)();
  const token = `${PAT_PREFIX}${randomBytes(32).toString('base64url')}`;
  const record: PersonalAccessToken = {
    id: randomBytes(12).toString('base64url'),
    accountId: account.id,
    name,
    scope: scopes.join(' '),
    resource: resource.url,
    createdBy: request.actor,
    createdAt: now,
    expiresAt: now + Math.round(days * DAY_MS),
    lastUsedAt: null,
  };
  await ctx.storage.personalAccessTokens.add(record, hashOf(token));
  ctx.audit?.info(
    { audit: true, event: 'pat.created', sub: account.id, pat_id: record.id, name, scope: record.scope, actor: request.actor },
    `personal access token "${name}" created for ${account.username}`,
  );
  return { token, record };
}

/** A PAT's record with its owner's username. */
export type ListedPersonalAccessToken = PersonalAccessToken & { username: string };

/**
 * The live PATs of one user (by username), or of everyone. Throws NotFoundError for an unknown username.
 *
 * ```ts source="./personal-access-tokens.examples.ts#listPersonalAccessTokens"
 * for (const pat of await listPersonalAccessTokens(ctx, 'alice')) console.log(pat.name, pat.lastUsedAt);
 * ```
 */
export async function listPersonalAccessTokens(ctx: PatContext, username?: string): Promise<ListedPersonalAccessToken[]> {
  const accounts = new Map((await ctx.storage.accounts.list()).map((a) => [a.id, a.username]));
  let accountId: string | undefined;
  if (username !== undefined) {
    accountId = (await ctx.storage.accounts.findByUsername(username))?.id;
    if (!accountId) throw new NotFoundError(`no account named "${username}"`);
  }
  return (await ctx.storage.personalAccessTokens.list(accountId)).map((pat) => ({ ...pat, username: accounts.get(pat.accountId) ?? '?' }));
}

/**
 * Revokes a user's PAT by name: deleted, and fed to resource servers so a cached check ends at
 * their next poll. Returns it; throws NotFoundError when there is no such user or token.
 *
 * ```ts source="./personal-access-tokens.examples.ts#revokePersonalAccessToken"
 * await revokePersonalAccessToken(ctx, 'alice', 'nightly build', `admin:${admin.id}`);
 * ```
 */
export async function revokePersonalAccessToken(
  ctx: PatContext,
  username: string,
  name: string,
  actor: string,
): Promise<PersonalAccessToken> {
  const account = await ctx.storage.accounts.findByUsername(username);
  if (!account) throw new NotFoundError(`no account named "${username}"`);
  const removed = await ctx.storage.personalAccessTokens.remove(account.id, name);
  if (!removed) throw new NotFoundError(`${account.username} has no personal access token named "${name}"`);
  await recordPersonalAccessTokenRevocation(ctx, removed.id, removed.expiresAt, actor);
  return removed;
}

/**
 * The RFC 7662 answer about a PAT, for a resource server's introspection: `{ active: false }`
 * unless it is known, unexpired and its account exists and is enabled. Records last use
 * (throttled). The identity is what a JWT access token would carry: `sub` the account,
 * `client_id` `pat:<id>` (never an account id's shape, and never equal to `sub`: a user's token),
 * the account's current roles, `iat` its creation.
 */
export async function introspectPersonalAccessToken(ctx: PatContext, token: string): Promise<Record<string, unknown>> {
  if (!token.startsWith(PAT_PREFIX)) return { active: false };
  const pat = await ctx.storage.personalAccessTokens.findByHash(hashOf(token));
  if (!pat) return { active: false };
  const account = await ctx.storage.accounts.findById(pat.accountId);
  if (!account || account.disabledAt !== null) return { active: false };
  await ctx.storage.personalAccessTokens.touch(pat.id, LAST_USED_INTERVAL_MS);
  return {
    active: true,
    token_type: 'Bearer',
    iss: ctx.issuer,
    sub: account.id,
    aud: pat.resource,
    client_id: `pat:${pat.id}`,
    scope: pat.scope,
    iat: Math.floor(pat.createdAt / 1000),
    exp: Math.floor(pat.expiresAt / 1000),
    username: account.username,
    roles: account.roles,
    pat_id: pat.id,
    pat_name: pat.name,
  };
}

/** `30d`, `12h` or a number of days, as days; undefined when it is none of those. */
export function parseExpiry(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([dh]?)$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  return match[2] === 'h' ? value / 24 : value;
}

async function activeAccount(ctx: PatContext, username: string): Promise<Account> {
  const account = await ctx.storage.accounts.findByUsername(username);
  if (!account) throw new NotFoundError(`no account named "${username}"`);
  if (account.disabledAt !== null) throw new NotFoundError(`the account "${username}" is disabled`);
  return account;
}

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
