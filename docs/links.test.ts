import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DOCUMENTS = ['README.md', 'docs/architecture.md', 'docs/security.md', 'resource-server/README.md', 'auth-server/README.md'].filter(
  (f) => existsSync(join(ROOT, f)),
);

/** Relative markdown link targets, and backticked repository paths (`dir/file.ts`) in tables and prose. */
function referencedFiles(document: string): string[] {
  const text = readFileSync(join(ROOT, document), 'utf8');
  const base = dirname(join(ROOT, document));
  const found = new Set<string>();
  for (const [, target] of text.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)) {
    if (/^[a-z]+:/i.test(target!)) continue; // https:, mailto:
    // A leading slash is the repository root (as GitHub renders it): docs/ needs no `../`.
    found.add(target!.startsWith('/') ? target!.slice(1) : relative(ROOT, join(base, target!)));
  }
  // keys/ and data/ are written at run time, so paths under them are not links.
  for (const [, path] of text.matchAll(
    /`((?:auth-server|resource-server|common|e2e|deploy|bench|docs|views)\/[\w./-]+\.(?:ts|md|eta|css|json|yml|cjs))`/g,
  )) {
    if (path!.includes('…') || path!.includes('*')) continue;
    found.add(path!);
  }
  return [...found];
}

describe('the README and docs', () => {
  it('link only to files that exist in this repository', () => {
    const missing = DOCUMENTS.flatMap((document) =>
      referencedFiles(document)
        .filter((file) => !existsSync(join(ROOT, file)))
        .map((file) => `${document} → ${file}`),
    );
    expect(missing).toEqual([]);
  });

  it('never point outside the repository, nor climb with ../ (links are relative to the file or the repository root)', () => {
    const outside = DOCUMENTS.flatMap((document) =>
      [
        ...referencedFiles(document).filter((file) => file.startsWith('..')),
        ...[...readFileSync(join(ROOT, document), 'utf8').matchAll(/\]\((\.\.\/[^)]*)\)/g)].map((m) => m[1]!),
      ].map((file) => `${document} → ${file}`),
    );
    expect(outside).toEqual([]);
  });
});
