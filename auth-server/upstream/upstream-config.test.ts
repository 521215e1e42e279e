import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/config-error.ts';
import { loadConfig } from '../config.ts';
import { mappedRoles } from './federated-accounts.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upstreams-'));
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

describe('AUTH_UPSTREAMS: the upstream providers file', () => {
  it('accepts storeTokens (the token vault), off by default, and refuses a non-boolean', async () => {
    const entry = { id: 'corp', name: 'Corp', type: 'oidc', issuer: 'https://idp.example', clientId: 'c', clientSecret: 's' };
    const kept = loadConfig({
      AUTH_UPSTREAMS: await file([
        { ...entry, storeTokens: true },
        { ...entry, id: 'other' },
      ]),
    });
    expect(kept.upstreams.map((u) => [u.id, u.storeTokens])).toEqual([
      ['corp', true],
      ['other', false],
    ]);
    expect(problems({ AUTH_UPSTREAMS: await file([{ ...entry, storeTokens: 'yes' }]) }).join('\n')).toMatch(/storeTokens/);
  });

  it('reads OIDC and GitHub-shaped OAuth 2 providers with their defaults, the secret from the named variable', async () => {
    const path = await file([
      {
        id: 'google',
        name: 'Google',
        type: 'oidc',
        issuer: 'https://accounts.google.com/',
        clientId: 'g',
        clientSecretEnv: 'GOOGLE_SECRET',
      },
      {
        id: 'github',
        name: 'GitHub',
        type: 'oauth2',
        authorizationUrl: 'https://github.com/login/oauth/authorize',
        tokenUrl: 'https://github.com/login/oauth/access_token',
        userinfoUrl: 'https://api.github.com/user',
        clientId: 'h',
        clientSecret: 's',
        scopes: ['read:user', 'user:email'],
      },
    ]);
    const config = loadConfig({ AUTH_UPSTREAMS: path, GOOGLE_SECRET: 'from-env' });
    expect(config.upstreams).toEqual([
      expect.objectContaining({
        id: 'google',
        issuer: 'https://accounts.google.com',
        clientSecret: 'from-env',
        scopes: ['openid', 'email', 'profile'],
        defaultRole: 'user',
        linkByEmail: false,
        tokenAuthMethod: 'client_secret_basic',
      }),
      expect.objectContaining({
        id: 'github',
        issuer: 'https://github.com',
        fields: { id: 'id', email: 'email', name: 'name', username: 'login' },
        tokenAuthMethod: 'client_secret_post',
      }),
    ]);
    expect(config.localLogin).toBe(true);
  });

  it('reports every problem of the file and of the environment at once, each naming its place', async () => {
    const path = await file([
      { id: 'Not OK!', name: '', type: 'oidc', issuer: 'not a url', clientId: 'a' },
      { id: 'gh', name: 'GitHub', type: 'oauth2', authorizationUrl: 'https://x/a', clientId: 'b', clientSecret: 's', linkByEmail: true },
      { id: 'x', name: 'X', type: 'saml', clientId: 'c', clientSecret: 's' },
      { id: 'y', name: 'Y', type: 'oidc', issuer: 'https://y.example', clientId: 'd', clientSecretEnv: 'Y_SECRET' },
      { id: 'y', name: 'Y again', type: 'oidc', issuer: 'https://y.example', clientId: 'e', clientSecret: 's', extra: 1 },
    ]);
    const found = problems({ AUTH_UPSTREAMS: path, AUTH_PORT: 'nope' });
    expect(found).toEqual(
      expect.arrayContaining([
        'AUTH_PORT: must be a number',
        expect.stringMatching(/^AUTH_UPSTREAMS\[0\]\.id: must be 1–32 characters/),
        'AUTH_UPSTREAMS[0].name: must not be empty',
        'AUTH_UPSTREAMS[0].issuer: must be an absolute URL',
        expect.stringMatching(/^AUTH_UPSTREAMS\[1\]\.tokenUrl: /),
        expect.stringMatching(/^AUTH_UPSTREAMS\[1\]\.userinfoUrl: /),
        'AUTH_UPSTREAMS[1].linkByEmail: is only for oidc upstreams (plain OAuth 2 never links by email)',
        expect.stringMatching(/^AUTH_UPSTREAMS\[2\]\.type: /),
        'AUTH_UPSTREAMS[3].clientSecretEnv: the environment variable Y_SECRET is not set',
        expect.stringMatching(/^AUTH_UPSTREAMS\[4\]: .*extra/),
      ]),
    );
  });

  it('refuses a file that is missing or not JSON, duplicate ids, a provider without a secret, and password sign-in off without providers', async () => {
    expect(problems({ AUTH_UPSTREAMS: join(dir, 'missing.json') })).toEqual([
      `AUTH_UPSTREAMS: cannot read ${join(dir, 'missing.json')}: file not found`,
    ]);
    expect(problems({ AUTH_UPSTREAMS: await file('{not json') })[0]).toMatch(/^AUTH_UPSTREAMS: cannot read .*JSON/);
    const entry = { id: 'a', name: 'A', type: 'oidc', issuer: 'https://a.example', clientId: 'c', clientSecret: 's' };
    expect(problems({ AUTH_UPSTREAMS: await file([entry, entry]) })).toEqual(['AUTH_UPSTREAMS[1].id: "a" is used twice']);
    expect(problems({ AUTH_UPSTREAMS: await file([{ ...entry, clientSecret: undefined }]) })).toEqual([
      'AUTH_UPSTREAMS[0]: needs clientSecret or clientSecretEnv',
    ]);
    expect(problems({ AUTH_LOCAL_LOGIN: 'off' })).toEqual(['AUTH_LOCAL_LOGIN: off needs AUTH_UPSTREAMS, or nobody could sign in']);
    expect(problems({ AUTH_UPSTREAMS: await file([]) })).toEqual(['AUTH_UPSTREAMS: must list at least one provider']);
  });
});

describe('role mapping', () => {
  it('gives the default role plus every role mapped from the claim’s values, and none for unknown values', () => {
    const provider = { defaultRole: 'user', roles: { claim: 'groups', map: { admins: ['admin'], ops: ['admin', 'ops'] } } };
    expect(mappedRoles(provider, { groups: ['admins', 'ops', 'other'] })).toEqual(['user', 'admin', 'ops']);
    expect(mappedRoles(provider, { groups: 'admins' })).toEqual(['user', 'admin']);
    expect(mappedRoles(provider, {})).toEqual(['user']);
    expect(mappedRoles({ defaultRole: null, roles: undefined }, { groups: ['admins'] })).toEqual([]);
  });
});
