import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { authServerEnv } from '../auth-server/config.ts';
import { resourceServerEnv } from '../resource-server/config.ts';
import { KNOWN_SETTINGS, SETTING_PREFIXES } from './unknown-env.ts';

/**
 * The schemas are the one place variables are read (oidc-provider's single documented `defaults`
 * is the model); the README's table and the unknown-variable check must say the same.
 */
const schemaVariables = [...new Set([...Object.keys(authServerEnv.shape), ...Object.keys(resourceServerEnv.shape)])].sort();

/** Variable names in the first column of the README's "## Configuration" table (a cell may name several). */
function readmeVariables(): string[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Configuration\n'));
  const table = section.slice(0, section.indexOf('\n## ', 1));
  const names = table
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...line.split('|')[1]!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!));
  return [...new Set(names)].sort();
}

const difference = (a: readonly string[], b: readonly string[]) => a.filter((name) => !b.includes(name));

describe('configuration documentation', () => {
  it('the README’s configuration table lists every variable the schemas read, and no other', () => {
    const documented = readmeVariables();
    // Guards the parser: the table has dozens of rows.
    expect(documented.length).toBeGreaterThan(30);
    const missing = difference(schemaVariables, documented);
    const extra = difference(documented, schemaVariables);
    expect(missing, `add a row to README.md's configuration table for: ${missing.join(', ')}`).toEqual([]);
    expect(extra, `README.md's configuration table lists variables no schema reads: ${extra.join(', ')}`).toEqual([]);
  });

  it('the unknown-variable warning knows exactly the prefixed variables the schemas read', () => {
    const prefixed = schemaVariables.filter((name) => SETTING_PREFIXES.some((prefix) => name.startsWith(prefix)));
    const missing = difference(prefixed, KNOWN_SETTINGS);
    const extra = difference(KNOWN_SETTINGS, prefixed);
    expect(missing, `add to KNOWN_SETTINGS in common/unknown-env.ts (else the servers warn about them): ${missing.join(', ')}`).toEqual([]);
    expect(extra, `remove from KNOWN_SETTINGS in common/unknown-env.ts (no schema reads them): ${extra.join(', ')}`).toEqual([]);
  });
});
