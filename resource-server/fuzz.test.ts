import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzz } from '../common/testing/fuzz-requests.ts';
import { startTestIssuer, type TestIssuer } from './testing/test-issuer.ts';
import { startResourceServer, type RunningResourceServer } from './testing/test-server.ts';

let issuer: TestIssuer;
let server: RunningResourceServer;
let stateless: RunningResourceServer;

beforeAll(async () => {
  issuer = await startTestIssuer();
  [server, stateless] = await Promise.all([
    startResourceServer({ AUTH_ISSUER: issuer.url, METRICS_ALLOW: '127.0.0.1' }),
    startResourceServer({ AUTH_ISSUER: issuer.url, MCP_STATELESS: '1' }),
  ]);
});
afterAll(async () => {
  await Promise.all([server?.close(), stateless?.close()]);
  await issuer?.close();
});

const PATHS = [
  '/mcp',
  '/sse',
  '/messages',
  '/messages?sessionId=abc',
  '/.well-known/oauth-protected-resource',
  '/.well-known/oauth-protected-resource/mcp',
  '/healthz',
  '/metrics',
  '/',
];

describe('fuzzing the resource server', () => {
  it.each([
    ['with sessions', () => server],
    ['stateless', () => stateless],
  ])('answers 1,300 generated malformed requests (%s) without a 5xx, and stays healthy', { timeout: 60_000 }, async (_mode, target) => {
    const running = target();
    const token = await issuer.mint({ claims: { aud: running.mcpUrl, scope: 'mcp:tools mcp:admin', roles: ['admin'] } });
    const failures = await fuzz(running.url, PATHS, 1_300, 7, { validAuthorization: `Bearer ${token}` });
    expect(failures, JSON.stringify(failures.slice(0, 3), null, 2)).toEqual([]);
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
  });
});
