import { readJsonConfigFile, schemaProblems } from '../json-config-file.ts';
import { z } from 'zod';
import { httpUrl } from '../../common/env-schema.ts';

/**
 * An enterprise identity provider whose ID-JAGs (Identity Assertion JWT Authorization Grants,
 * the MCP extension io.modelcontextprotocol/enterprise-managed-authorization) this server
 * redeems for access tokens. AUTH_TRUSTED_IDPS names a JSON file holding an array of these.
 * Its URLs are the operator's, so they are trusted as written (no SSRF guard).
 */
export interface TrustedIdp {
  /** The `iss` of its ID-JAGs, exactly (no trailing slash added or removed). */
  issuer: string;
  /** Where its signing keys are; undefined: found through its metadata at first use. */
  jwksUri: string | undefined;
  /** Shown in logs and account names. */
  name: string;
  /** Our client ids it may issue grants to ('*': any confidential client). */
  clients: '*' | string[];
  /** Our resources (RS_RESOURCE_URL, AUTH_EXTRA_RESOURCES) its grants may name. */
  resources: string[];
  /** Signature algorithms accepted from it. */
  algorithms: string[];
  /** Longest lifetime (exp − iat, seconds) of a grant it issues that we accept. */
  maxGrantLifetime: number;
  /** Our roles from a claim of the grant: each value of `claim` maps to a list of roles. */
  roles: { claim: string; map: Record<string, string[]> } | undefined;
  /** A role every account created or refreshed through it gets (null: none). */
  defaultRole: string | null;
  /** The id of its account links (AccountStore.findLink): `idp:` + the issuer. */
  linkId: string;
}

const ROLE = /^[A-Za-z0-9._:-]{1,64}$/;
const role = z.string().regex(ROLE, 'must be 1–64 characters from A–Z a–z 0–9 . _ : -');
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

const entry = z
  .object({
    issuer: httpUrl,
    jwksUri: httpUrl.optional(),
    name: z.string().trim().min(1, 'must not be empty').max(60, 'must be at most 60 characters').optional(),
    clients: z.union([z.literal('*'), z.array(z.string().min(1)).min(1, 'must name at least one client id (or be "*")')], {
      message: 'must be "*" or an array of client ids',
    }),
    resources: z.array(httpUrl).min(1, 'must name at least one resource'),
    algorithms: z.array(z.enum(ALGORITHMS)).min(1).default(['RS256', 'PS256', 'ES256', 'EdDSA']),
    maxGrantLifetimeSeconds: z.number().int().min(30).max(3600).default(300),
    roles: z
      .object({ claim: z.string().min(1), map: z.record(z.string(), z.array(role)) })
      .strict()
      .optional(),
    defaultRole: role.nullable().default('user'),
  })
  .strict();

const fileSchema = z.array(entry).min(1, 'must list at least one identity provider');

/**
 * Reads and checks the AUTH_TRUSTED_IDPS file against the resources we protect. Every problem
 * is returned, each naming its place (`AUTH_TRUSTED_IDPS[0].resources[1]: …`), so the operator
 * fixes them in one go; nothing throws.
 *
 * ```ts source="./trusted-idps.examples.ts#loadTrustedIdps"
 * const { idps, problems } = loadTrustedIdps(process.env.AUTH_TRUSTED_IDPS, ['http://localhost:3001/mcp']);
 * ```
 */
export function loadTrustedIdps(file: string | undefined, knownResources: readonly string[]): { idps: TrustedIdp[]; problems: string[] } {
  if (!file) return { idps: [], problems: [] };
  const { raw, problem } = readJsonConfigFile('AUTH_TRUSTED_IDPS', file);
  if (problem) return { idps: [], problems: [problem] };
  const parsed = fileSchema.safeParse(raw);
  const problems = parsed.success ? [] : schemaProblems('AUTH_TRUSTED_IDPS', parsed.error);
  const entries = parsed.success ? parsed.data : Array.isArray(raw) ? raw.map((e) => entry.safeParse(e).data) : [];

  const seen = new Set<string>();
  const idps: TrustedIdp[] = [];
  entries.forEach((e, index) => {
    if (!e) return;
    const at = `AUTH_TRUSTED_IDPS[${index}]`;
    if (seen.has(e.issuer)) problems.push(`${at}.issuer: "${e.issuer}" is listed twice`);
    seen.add(e.issuer);
    e.resources.forEach((resource, i) => {
      if (!knownResources.includes(resource)) {
        problems.push(`${at}.resources[${i}]: ${resource} is not a resource this server protects (RS_RESOURCE_URL, AUTH_EXTRA_RESOURCES)`);
      }
    });
    idps.push({
      issuer: e.issuer,
      jwksUri: e.jwksUri,
      name: e.name ?? new URL(e.issuer).host,
      clients: e.clients,
      resources: e.resources,
      algorithms: e.algorithms,
      maxGrantLifetime: e.maxGrantLifetimeSeconds,
      roles: e.roles,
      defaultRole: e.defaultRole,
      linkId: `idp:${e.issuer}`,
    });
  });
  return { idps: problems.length ? [] : idps, problems };
}
