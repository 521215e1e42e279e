import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The two servers share no source, only common/ (README: they share the issuer URL, the resource
 * URL and the JWKS). An import across would let one server's code decide the other's behaviour
 * (as the auth server once granted the scopes it read from resource-server/scopes.ts). Tests and
 * test helpers (testing/) may cross: they start both servers on purpose.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SERVERS = ['auth-server', 'resource-server'] as const;

/** Every .ts file under `dir` that is not test code, relative to ROOT. */
function productionFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
    .filter((file) => !file.split(sep).includes('testing') && !file.split(sep).includes('node_modules'));
}

/** Imports (static, re-exports, dynamic, require) of `file` that land in the other server's directory. */
function crossServerImports(file: string, source: string): string[] {
  const server = file.split(/[\\/]/)[0];
  // TypeScript's own import scanner: it also finds `export … from`, `import()` and `require()`.
  const { importedFiles } = ts.preProcessFile(source, true, true);
  return importedFiles
    .map((imported) => imported.fileName)
    .filter((specifier) => specifier.startsWith('.') || specifier.startsWith('/'))
    .filter((specifier) => {
      const target = relative(ROOT, resolve(ROOT, dirname(file), specifier)).split(/[\\/]/)[0];
      return SERVERS.some((other) => other !== server && target === other);
    });
}

describe('server boundaries', () => {
  it('no non-test file of one server imports the other server; only common/ is shared', () => {
    const files = SERVERS.flatMap(productionFiles);
    // A scan of nothing proves nothing: both servers have dozens of files.
    expect(files.filter((f) => f.startsWith('auth-server')).length).toBeGreaterThan(20);
    expect(files.filter((f) => f.startsWith('resource-server')).length).toBeGreaterThan(20);
    const violations = files.flatMap((file) =>
      crossServerImports(file, readFileSync(join(ROOT, file), 'utf8')).map((to) => `${file} imports ${to}`),
    );
    expect(violations, 'move what both need to common/, or pass it as configuration').toEqual([]);
  });

  it('the check finds every form of import across, and allows common/ and packages', () => {
    const source = [
      "import { RESOURCE_SCOPES } from '../../resource-server/scopes.ts';",
      "import type { ResourceServerConfig } from '../../resource-server/config.ts';",
      "export { demoTools } from '../../resource-server/tools/index.ts';",
      "const later = await import('../../resource-server/app.ts');",
      "import { ConfigError } from '../../common/config-error.ts';",
      "import { z } from 'zod';",
      "import { pages } from './pages.ts';",
    ].join('\n');
    expect(crossServerImports('auth-server/interactions/example.ts', source)).toEqual([
      '../../resource-server/scopes.ts',
      '../../resource-server/config.ts',
      '../../resource-server/tools/index.ts',
      '../../resource-server/app.ts',
    ]);
    expect(crossServerImports('resource-server/example.ts', "import { loadConfig } from '../auth-server/config.ts';")).toEqual([
      '../auth-server/config.ts',
    ]);
    expect(crossServerImports('resource-server/tools/example.ts', "import { TOOLS_SCOPE } from '../scopes.ts';")).toEqual([]);
  });
});
