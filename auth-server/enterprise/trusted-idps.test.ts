import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/config-error.ts';
import { loadConfig } from '../config.ts';

const RESOURCE = 'http://localhost:3001/mcp';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trusted-idps-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function file(content: unknown): Promise<string> {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('AUTH_TRUSTED_IDPS: the trusted enterprise IdPs file', () => {
  it('reads an IdP with its defaults: discovery for its keys, role "user", 300 s grants, link id from the issuer', async () => {
    const path = await file([{ issuer: 'https://acme.okta.com', clients: '*', resources: [RESOURCE] }]);
    const config = loadConfig({ AUTH_TRUSTED_IDPS: path });
    expect(config.trustedIdps).toEqual([
      {
        issuer: 'https://acme.okta.com',
        jwksUri: undefined,
        name: 'acme.okta.com',
        clients: '*',
        resources: [RESOURCE],
        algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
        maxGrantLifetime: 300,
        roles: undefined,
        defaultRole: 'user',
        linkId: 'idp:https://acme.okta.com',
      },
    ]);
  });

  it('is off when unset', () => {
    expect(loadConfig({}).trustedIdps).toEqual([]);
  });

  it('names every problem of the file at once, each with its place, together with the environment’s', async () => {
    const path = await file([
      { issuer: 'not a url', clients: [], resources: ['https://unprotected.example/mcp'] },
      { issuer: 'https://idp.example', jwksUri: 'ftp://idp.example/keys', clients: 'all', resources: [RESOURCE], colour: 'blue' },
      { issuer: 'https://twice.example', clients: '*', resources: ['https://unprotected.example/mcp'] },
      { issuer: 'https://twice.example', clients: '*', resources: [RESOURCE], defaultRole: 'has space' },
    ]);
    const found = problems({ AUTH_TRUSTED_IDPS: path, AUTH_PORT: 'nope' });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^AUTH_PORT/),
        'AUTH_TRUSTED_IDPS[0].issuer: must be an absolute URL',
        'AUTH_TRUSTED_IDPS[0].clients: must name at least one client id (or be "*")',
        'AUTH_TRUSTED_IDPS[1].jwksUri: must use http or https',
        'AUTH_TRUSTED_IDPS[1].clients: must be "*" or an array of client ids',
        expect.stringMatching(/^AUTH_TRUSTED_IDPS\[1\]: Unrecognized key.*colour/),
        expect.stringMatching(/^AUTH_TRUSTED_IDPS\[3\]\.defaultRole: must be 1–64 characters/),
      ]),
    );
  });

  it('refuses resources this server does not protect, and an issuer listed twice', async () => {
    const path = await file([
      { issuer: 'https://twice.example', clients: '*', resources: ['https://unprotected.example/mcp'] },
      { issuer: 'https://twice.example', clients: ['a'], resources: [RESOURCE] },
    ]);
    expect(problems({ AUTH_TRUSTED_IDPS: path })).toEqual([
      'AUTH_TRUSTED_IDPS[0].resources[0]: https://unprotected.example/mcp is not a resource this server protects (RS_RESOURCE_URL, AUTH_EXTRA_RESOURCES)',
      'AUTH_TRUSTED_IDPS[1].issuer: "https://twice.example" is listed twice',
    ]);
  });

  it('reports a missing file, invalid JSON and an empty list', async () => {
    expect(problems({ AUTH_TRUSTED_IDPS: join(dir, 'missing.json') })).toEqual([
      `AUTH_TRUSTED_IDPS: cannot read ${join(dir, 'missing.json')}: file not found`,
    ]);
    expect(problems({ AUTH_TRUSTED_IDPS: await file('{ nope') })[0]).toMatch(/^AUTH_TRUSTED_IDPS: cannot read .*JSON/);
    expect(problems({ AUTH_TRUSTED_IDPS: await file([]) })).toEqual(['AUTH_TRUSTED_IDPS: must list at least one identity provider']);
  });
});
