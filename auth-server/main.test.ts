import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDemoAccount } from './demo-user.ts';
import { freePort } from './testing/harness.ts';

const MAIN = new URL('./main.ts', import.meta.url).pathname;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auth-main-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs `node auth-server/main.ts` until it is healthy (or exits), then SIGTERMs it. */
async function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string; healthy: boolean }> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, DATA_DIR: join(dir, 'data'), KEYS_DIR: join(dir, 'keys'), AUTH_PORT: String(port), LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let healthy = false;
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (healthy) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (child.exitCode === null) child.kill('SIGTERM');
  return { code: await exited, stdout, stderr, healthy };
}

describe('npm run auth-server', () => {
  it('creates a demo account on the first development start, prints it once, and keys with mode 0600', async () => {
    const first = await run({});
    expect(first.healthy).toBe(true);
    expect(first.code).toBe(0);
    expect(parseDemoAccount(first.stdout)).toEqual({ username: 'demo', password: expect.stringMatching(/^\S{8,}$/) });
    expect((await stat(join(dir, 'keys', 'private-jwks.json'))).mode & 0o777).toBe(0o600);

    const second = await run({});
    expect(second.healthy).toBe(true);
    expect(parseDemoAccount(second.stdout)).toBeUndefined();
  });

  it('never creates a demo account in production', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'auth-prod-'));
    try {
      const result = await run({ NODE_ENV: 'production', AUTH_ISSUER: 'https://auth.example', DATA_DIR: join(fresh, 'data'), KEYS_DIR: join(fresh, 'keys') });
      expect(result.healthy).toBe(true);
      expect(parseDemoAccount(result.stdout)).toBeUndefined();
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });

  it('warns once at start when the resource server has no client here, and not when RS_CLIENT_ID/RS_CLIENT_SECRET are set', async () => {
    const without = await run({});
    expect(without.healthy).toBe(true);
    expect(without.stdout.match(/RS_CLIENT_ID\/RS_CLIENT_SECRET are not set/g)).toHaveLength(1);
    const withPair = await run({ RS_CLIENT_ID: 'mcp-resource-server', RS_CLIENT_SECRET: 'r'.repeat(40) });
    expect(withPair.healthy).toBe(true);
    expect(withPair.stdout).not.toContain('RS_CLIENT_ID/RS_CLIENT_SECRET are not set');
    expect(withPair.stdout).toContain('resource server client ready');
  });

  it('exits 1 with one clear line per configuration problem', async () => {
    const result = await run({ AUTH_ISSUER: 'nope', LOG_LEVEL: 'loud', LOG_FORMAT: 'xml', AUTH_SESION_TTL: '60' });
    expect(result.healthy).toBe(false);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('AUTH_ISSUER: must be an absolute URL');
    expect(result.stderr).toContain('LOG_LEVEL:');
    expect(result.stderr).toContain('LOG_FORMAT: must be json or pretty');
    expect(result.stderr).toContain('auth-server: warning: AUTH_SESION_TTL is not a setting of either server and is ignored; did you mean AUTH_SESSION_TTL?');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
