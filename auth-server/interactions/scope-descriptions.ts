import { RESOURCE_SCOPES } from '../../resource-server/scopes.ts';

const OIDC_SCOPES: Record<string, string> = {
  openid: 'Know who you are (your user id)',
  profile: 'See your name and username',
  email: 'See your email address',
  offline_access: 'Stay connected while you are away',
};

const DESCRIPTIONS = new Map<string, string>([
  ...Object.entries(OIDC_SCOPES),
  ...RESOURCE_SCOPES.map((s) => [s.name, s.description] as [string, string]),
]);

/**
 * Scope names in plain words for the consent page; unknown scopes are shown by name.
 *
 * @example
 * describeScopes(['openid', 'mcp:tools']) // → [{ name: 'openid', description: 'Know who you are…' }, …]
 */
export function describeScopes(scopes: Iterable<string>): { name: string; description: string }[] {
  return [...new Set(scopes)].map((name) => ({ name, description: DESCRIPTIONS.get(name) ?? name }));
}
