import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * JSDoc examples that cannot drift: a fenced example marked `source="./x.examples.ts#name"` must
 * equal the `//#region name` of that file, which `tsc --noEmit` type-checks (the MCP SDK's way).
 */
const ROOT = resolve(import.meta.dirname, '..');
const DIRS = ['common', 'resource-server', 'auth-server'];
const FENCE = /```ts source="([^"#]+)#([^"]+)"\n((?:\s*\*.*\n)*?)\s*\* ```/g;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function dedent(lines: string[]): string {
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
  return lines
    .map((l) => l.slice(indent))
    .join('\n')
    .trim();
}

function region(file: string, name: string): string | undefined {
  const text = readFileSync(file, 'utf8');
  const match = new RegExp(`//#region ${name}\\n([\\s\\S]*?)\\n\\s*//#endregion ${name}\\n`).exec(text);
  return match ? dedent(match[1]!.split('\n')) : undefined;
}

const examples = DIRS.flatMap((dir) => tsFiles(join(ROOT, dir))).flatMap((file) =>
  [...readFileSync(file, 'utf8').matchAll(FENCE)].map((m) => ({
    file: relative(ROOT, file),
    source: resolve(dirname(file), m[1]!),
    name: m[2]!,
    code: dedent(
      m[3]!
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replace(/^\s*\* ?/, '')),
    ),
  })),
);

describe('JSDoc examples', () => {
  it('are found (the pattern still matches the comments)', () => {
    expect(examples.length).toBeGreaterThan(5);
  });

  it.each(examples.map((e) => [`${e.file} → ${relative(ROOT, e.source)}#${e.name}`, e] as const))(
    '%s equals its type-checked region',
    (_label, example) => {
      expect(example.code).toBe(region(example.source, example.name));
    },
  );

  it('no untyped @example is left (outside tests and testing/ helpers)', () => {
    // An `@example` is prose tsc never sees, so it drifts; every example is a region instead.
    const untyped = DIRS.flatMap((dir) => tsFiles(join(ROOT, dir)))
      .filter((file) => !/\.test\.ts$/.test(file) && !relative(ROOT, file).split('/').includes('testing'))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .flatMap((line, i) => (/^\s*\*\s*@example\b/.test(line) ? [`${relative(ROOT, file)}:${i + 1}`] : [])),
      );
    expect(untyped).toEqual([]);
  });

  it('live in directories tsc --noEmit checks', () => {
    const include = (JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] }).include;
    for (const example of examples) expect(include).toContain(relative(ROOT, example.source).split('/')[0]);
  });
});
