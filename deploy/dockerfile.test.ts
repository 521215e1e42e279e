import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { isBuiltin } from 'node:module';
import { validate, ValidationSeverity, type ValidatorSettings } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { execForm, imageEnv, parseDockerfile } from './dockerfile.ts';
import { copyBuildContext, ROOT } from './local-compose.ts';

const text = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
const instructions = parseDockerfile(text);
const STRICT: ValidatorSettings = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

describe('Dockerfile', () => {
  it('passes the Dockerfile linter (dockerfile-utils, every check an error)', () => {
    expect(validate(text, STRICT).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('the linter does catch a broken Dockerfile', () => {
    expect(validate('FROM node:24-slim\nHEALTHCHECK --interval=10 CMD ["node"]\nCMD node a.ts\nCMD node b.ts\n', STRICT)).not.toHaveLength(
      0,
    );
  });

  it('builds on node:24-slim, installs with npm ci --omit=dev, and runs as a non-root user', () => {
    const from = instructions.filter((i) => i.keyword === 'FROM');
    expect(from.map((i) => i.args)).toEqual(['node:24-slim']);
    expect(instructions.some((i) => i.keyword === 'RUN' && /\bnpm ci\b.*--omit=dev/.test(i.args))).toBe(true);
    const users = instructions.filter((i) => i.keyword === 'USER');
    expect(users.at(-1)?.args).toBe('node');
    const lastUser = instructions.lastIndexOf(users.at(-1)!);
    expect(
      instructions.slice(lastUser).some((i) => i.keyword === 'RUN'),
      'nothing runs as root after USER',
    ).toBe(false);
  });

  it('has a HEALTHCHECK on /healthz and an exec-form CMD that runs the auth server like npm run auth-server', async () => {
    expect(execForm(instructions, 'HEALTHCHECK')).toEqual(['node', 'deploy/healthcheck.ts']);
    expect(await readFile(join(ROOT, 'deploy/healthcheck.ts'), 'utf8')).toContain('/healthz');
    const scripts = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
    // The image ships Node 24, so it skips the old-Node preload that npm scripts carry for laptops.
    expect(execForm(instructions, 'CMD')?.join(' ')).toBe(withoutNodeCheck(scripts['auth-server']!));
  });

  it('keeps data and keys outside the code, in directories the volumes mount', () => {
    const env = imageEnv(instructions);
    expect(env).toMatchObject({
      NODE_ENV: 'production',
      DATA_DIR: '/var/lib/mcp-oauth-stack/data',
      KEYS_DIR: '/var/lib/mcp-oauth-stack/keys',
    });
    const chown = instructions.find((i) => i.keyword === 'RUN' && i.args.includes('chown'));
    expect(chown?.args).toMatch(/mkdir -p \/var\/lib\/mcp-oauth-stack\/data \/var\/lib\/mcp-oauth-stack\/keys/);
    expect(chown?.args).toMatch(/chown -R node:node \/var\/lib\/mcp-oauth-stack/);
  });
});

describe('build context (.dockerignore)', () => {
  it('holds every file the servers load at run time and only production dependencies, but no tests, keys or data', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'build-context-'));
    try {
      const files = new Set(await copyBuildContext(dir));
      for (const path of files) {
        expect(path, 'no tests, test helpers, keys, data or e2e in the image').not.toMatch(
          /\.test\.ts$|(^|\/)testing\/|^(keys|data|e2e|bench|\.ci|\.git)\//,
        );
      }
      expect(files).toContain('package-lock.json');
      expect([...files].filter((f) => f.startsWith('views/'))).toEqual(
        expect.arrayContaining(['views/login.eta', 'views/consent.eta', 'views/style.css']),
      );

      const { dependencies } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
      const { local, packages } = await importGraph([
        'auth-server/main.ts',
        'resource-server/main.ts',
        'auth-server/cli/users.ts',
        'auth-server/cli/keys.ts',
        'auth-server/cli/clients.ts',
        'deploy/healthcheck.ts',
      ]);
      expect(local.size, 'the import walk found the servers').toBeGreaterThan(30);
      expect([...packages]).toEqual(expect.arrayContaining(['oidc-provider', '@modelcontextprotocol/server', 'koa', 'jose', 'pino']));
      expect(
        [...local].filter((f) => !files.has(f)),
        'imported at run time but left out of the image',
      ).toEqual([]);
      expect(
        [...packages].filter((p) => !(p in dependencies)),
        'imported at run time but not in "dependencies" (npm ci --omit=dev)',
      ).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Every relative module and every package reachable by static or dynamic import from the entries. */
async function importGraph(entries: string[]): Promise<{ local: Set<string>; packages: Set<string> }> {
  const local = new Set<string>();
  const packages = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (local.has(file)) continue;
    local.add(file);
    const source = await readFile(join(ROOT, file), 'utf8');
    for (const match of source.matchAll(
      /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm,
    )) {
      const specifier = match[1] ?? match[2] ?? match[3]!;
      if (specifier.startsWith('.')) queue.push(normalize(join(dirname(file), specifier)));
      else if (!isBuiltin(specifier))
        packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
    }
  }
  return { local, packages };
}

/** npm scripts preload common/require-node.cjs (a one-line error on old Node); the image's Node is current. */
function withoutNodeCheck(script: string): string {
  return script.replace(' -r ./common/require-node.cjs', '');
}
