import { readJsonConfigFile, schemaProblems } from '../json-config-file.ts';
import { z } from 'zod';
import { httpUrl } from '../../common/env-schema.ts';

/**
 * The identity providers people may sign in through (AUTH_UPSTREAMS names a JSON file holding an
 * array of these). Our server stays the authorization server MCP clients talk to; an upstream
 * only proves who the user is. Its URLs are the operator's, so they are trusted as written
 * (loopback and plain http included: no SSRF guard, unlike client-supplied URLs).
 */
export interface UpstreamProviderBase {
  /** URL-safe id: the callback is `<issuer>/upstream/<id>/callback`. */
  id: string;
  /** What the login page shows: "Continue with <name>". */
  name: string;
  clientId: string;
  clientSecret: string;
  /** Scopes asked of the upstream. */
  scopes: string[];
  /** When set, only emails in these domains may sign in (lower case). */
  allowedEmailDomains: string[] | undefined;
  /** Our roles from an upstream claim: each value of `claim` maps to a list of roles. */
  roles: { claim: string; map: Record<string, string[]> } | undefined;
  /** A role every account signing in here gets (null: none). */
  defaultRole: string | null;
  /**
   * Keep the upstream's access and refresh tokens after each sign-in, sealed with
   * AUTH_ENCRYPTION_KEY (token-vault.ts), for the resource server to exchange (vault-exchange.ts).
   */
  storeTokens: boolean;
  /** How we authenticate at the upstream's token endpoint. */
  tokenAuthMethod: 'client_secret_basic' | 'client_secret_post';
}

export interface OidcUpstream extends UpstreamProviderBase {
  type: 'oidc';
  /** Discovery (`/.well-known/openid-configuration`) starts here. */
  issuer: string;
  /** Link an existing local account with the same email when the upstream says email_verified. */
  linkByEmail: boolean;
}

/** Plain OAuth 2 with a userinfo JSON document (the GitHub shape): no ID token. */
export interface OAuth2Upstream extends UpstreamProviderBase {
  type: 'oauth2';
  authorizationUrl: string;
  tokenUrl: string;
  userinfoUrl: string;
  /** The issuer an RFC 9207 `iss` in the authorization response must equal (default: the authorization URL's origin). */
  issuer: string;
  /** Which userinfo fields hold the stable id, the email, the display name and the login name. */
  fields: { id: string; email: string; name: string; username: string };
  linkByEmail: false;
}

export type UpstreamProvider = OidcUpstream | OAuth2Upstream;

const ROLE = /^[A-Za-z0-9._:-]{1,64}$/;
const role = z.string().regex(ROLE, 'must be 1–64 characters from A–Z a–z 0–9 . _ : -');
const domain = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9.-]+\.[a-z]{2,}$|^[a-z0-9-]+$/, 'must be a domain name such as example.com');

const common = {
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be 1–32 characters from a–z 0–9 _ - (it is part of the callback URL)'),
  name: z.string().trim().min(1, 'must not be empty').max(60, 'must be at most 60 characters'),
  clientId: z.string().trim().min(1, 'must not be empty'),
  clientSecret: z.string().min(1, 'must not be empty').optional(),
  /** Name of the environment variable holding the secret (keeps it out of the file). */
  clientSecretEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
    .optional(),
  scopes: z.array(z.string().regex(/^\S+$/, 'must be one scope without spaces')).optional(),
  allowedEmailDomains: z.array(domain).min(1, 'must name at least one domain (leave it out to allow any)').optional(),
  roles: z
    .object({ claim: z.string().min(1), map: z.record(z.string(), z.array(role)) })
    .strict()
    .optional(),
  defaultRole: role.nullable().default('user'),
  storeTokens: z.boolean().default(false),
  tokenAuthMethod: z.enum(['client_secret_basic', 'client_secret_post']).optional(),
};

const oidcEntry = z.object({ ...common, type: z.literal('oidc'), issuer: httpUrl, linkByEmail: z.boolean().default(false) }).strict();
const oauth2Entry = z
  .object({
    ...common,
    type: z.literal('oauth2'),
    authorizationUrl: httpUrl,
    tokenUrl: httpUrl,
    userinfoUrl: httpUrl,
    issuer: httpUrl.optional(),
    fields: z
      .object({
        id: z.string().min(1).default('id'),
        email: z.string().min(1).default('email'),
        name: z.string().min(1).default('name'),
        username: z.string().min(1).default('login'),
      })
      .strict()
      .default({ id: 'id', email: 'email', name: 'name', username: 'login' }),
    // Plain OAuth 2 says nothing trustworthy about whether an email belongs to the user.
    linkByEmail: z.literal(false, { message: 'is only for oidc upstreams (plain OAuth 2 never links by email)' }).default(false),
  })
  .strict();

const fileSchema = z
  .array(z.discriminatedUnion('type', [oidcEntry, oauth2Entry], { message: 'type must be oidc or oauth2' }))
  .min(1, 'must list at least one provider');

/**
 * Reads and checks the AUTH_UPSTREAMS file. Every problem is returned, each naming its place
 * (`AUTH_UPSTREAMS[1].clientId: …`), so the operator fixes them in one go; nothing throws.
 *
 * ```ts source="./upstream-config.examples.ts#loadUpstreams"
 * const { providers, problems } = loadUpstreams(process.env.AUTH_UPSTREAMS, process.env);
 * ```
 */
export function loadUpstreams(
  file: string | undefined,
  env: Record<string, string | undefined>,
): { providers: UpstreamProvider[]; problems: string[] } {
  if (!file) return { providers: [], problems: [] };
  const { raw, problem } = readJsonConfigFile('AUTH_UPSTREAMS', file);
  if (problem) return { providers: [], problems: [problem] };
  const parsed = fileSchema.safeParse(raw);
  const problems = parsed.success ? [] : schemaProblems('AUTH_UPSTREAMS', parsed.error);
  const entries = parsed.success ? parsed.data : Array.isArray(raw) ? raw.map((e) => oidcEntry.or(oauth2Entry).safeParse(e).data) : [];

  const seen = new Set<string>();
  const providers: UpstreamProvider[] = [];
  entries.forEach((entry, index) => {
    if (!entry) return;
    const at = `AUTH_UPSTREAMS[${index}]`;
    if (seen.has(entry.id)) problems.push(`${at}.id: "${entry.id}" is used twice`);
    seen.add(entry.id);
    let secret = entry.clientSecret;
    if (entry.clientSecret !== undefined && entry.clientSecretEnv !== undefined) {
      problems.push(`${at}: set clientSecret or clientSecretEnv, not both`);
    } else if (entry.clientSecretEnv !== undefined) {
      secret = env[entry.clientSecretEnv];
      if (!secret) problems.push(`${at}.clientSecretEnv: the environment variable ${entry.clientSecretEnv} is not set`);
    } else if (entry.clientSecret === undefined) {
      problems.push(`${at}: needs clientSecret or clientSecretEnv`);
    }
    const base = {
      id: entry.id,
      name: entry.name,
      clientId: entry.clientId,
      clientSecret: secret ?? '',
      allowedEmailDomains: entry.allowedEmailDomains,
      roles: entry.roles,
      defaultRole: entry.defaultRole,
      storeTokens: entry.storeTokens,
    };
    if (entry.type === 'oidc') {
      providers.push({
        ...base,
        type: 'oidc',
        issuer: entry.issuer.replace(/\/+$/, ''),
        scopes: entry.scopes ?? ['openid', 'email', 'profile'],
        linkByEmail: entry.linkByEmail,
        tokenAuthMethod: entry.tokenAuthMethod ?? 'client_secret_basic',
      });
      if (entry.scopes && !entry.scopes.includes('openid')) problems.push(`${at}.scopes: an oidc upstream needs the openid scope`);
    } else {
      providers.push({
        ...base,
        type: 'oauth2',
        authorizationUrl: entry.authorizationUrl,
        tokenUrl: entry.tokenUrl,
        userinfoUrl: entry.userinfoUrl,
        issuer: entry.issuer ?? new URL(entry.authorizationUrl).origin,
        fields: entry.fields,
        scopes: entry.scopes ?? [],
        linkByEmail: false,
        // GitHub and most plain OAuth 2 servers take the secret in the form.
        tokenAuthMethod: entry.tokenAuthMethod ?? 'client_secret_post',
      });
    }
  });
  return { providers: problems.length ? [] : providers, problems };
}
