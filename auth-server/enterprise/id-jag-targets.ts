import { readJsonConfigFile, schemaProblems } from '../json-config-file.ts';
import { z } from 'zod';
import { httpUrl } from '../../common/env-schema.ts';

/**
 * Another organisation's authorization server that accepts ID-JAGs from us (we are the enterprise
 * IdP there): our clients may exchange a user's ID token for an ID-JAG naming it as `aud`.
 * AUTH_ID_JAG_TARGETS names a JSON file holding an array of these.
 */
export interface IdJagTarget {
  /** That authorization server's issuer: the `audience` parameter and the ID-JAG's `aud`, exactly. */
  audience: string;
  /** Its MCP servers (RFC 9728 resource identifiers) an ID-JAG may name. */
  resources: string[];
  /**
   * Which of our clients may get ID-JAGs for it, and the client id each has there (the ID-JAG's
   * `client_id`, SEP-990 §6.1): '*' for every confidential client, under the same id.
   */
  clients: '*' | Record<string, string>;
  /** Scopes an ID-JAG may carry; undefined: whatever the client asks for. */
  scopes: string[] | undefined;
  /** Seconds an ID-JAG lives. */
  lifetime: number;
}

const entry = z
  .object({
    audience: httpUrl,
    resources: z.array(httpUrl).min(1, 'must name at least one resource'),
    clients: z.union([z.literal('*'), z.record(z.string().min(1), z.string().min(1))], {
      message: 'must be "*" or an object mapping our client ids to their client ids there',
    }),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be one scope without spaces')).optional(),
    lifetimeSeconds: z.number().int().min(30).max(3600).default(300),
  })
  .strict();

const fileSchema = z.array(entry).min(1, 'must list at least one authorization server');

/**
 * Reads and checks the AUTH_ID_JAG_TARGETS file; every problem is returned with its place, nothing throws.
 *
 * ```ts source="./id-jag-targets.examples.ts#loadIdJagTargets"
 * const { targets, problems } = loadIdJagTargets(process.env.AUTH_ID_JAG_TARGETS);
 * ```
 */
export function loadIdJagTargets(file: string | undefined): { targets: IdJagTarget[]; problems: string[] } {
  if (!file) return { targets: [], problems: [] };
  const { raw, problem } = readJsonConfigFile('AUTH_ID_JAG_TARGETS', file);
  if (problem) return { targets: [], problems: [problem] };
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    return { targets: [], problems: schemaProblems('AUTH_ID_JAG_TARGETS', parsed.error) };
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  parsed.data.forEach((target, index) => {
    if (seen.has(target.audience)) problems.push(`AUTH_ID_JAG_TARGETS[${index}].audience: "${target.audience}" is listed twice`);
    seen.add(target.audience);
  });
  const targets = parsed.data.map((t) => ({
    audience: t.audience,
    resources: t.resources,
    clients: t.clients,
    scopes: t.scopes,
    lifetime: t.lifetimeSeconds,
  }));
  return { targets: problems.length ? [] : targets, problems };
}
