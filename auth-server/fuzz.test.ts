import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzz } from '../common/testing/fuzz-requests.ts';
import { addUser, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

let server: TestAuthServer;
beforeAll(async () => {
  // Rate limits would turn most of the run into 429s; the fuzz is about what lies behind them.
  server = await startAuthServer({ AUTH_RATE_LIMITS: 'off', LOG_LEVEL: 'warn' });
  await addUser(server);
});
afterAll(() => server?.close());

describe('fuzzing the auth server', () => {
  it('answers 3,000 generated malformed requests across every endpoint without a 5xx, and stays healthy', { timeout: 60_000 }, async () => {
    const client = await registerPublicClient(server);
    const paths = [
      '/auth',
      '/auth/abc',
      '/token',
      '/reg',
      `/reg/${client.client_id}`,
      '/jwks',
      '/me',
      '/token/revocation',
      '/token/introspection',
      '/device/auth',
      '/device',
      '/device/abc',
      '/session/end',
      '/session/end/confirm',
      '/session/end/success',
      '/request',
      '/interaction/abc',
      '/interaction/abc/login',
      '/interaction/abc/confirm',
      '/interaction/abc/abort',
      '/revocations',
      '/account/tokens',
      '/account/tokens/revoke',
      '/account/login',
      '/account/logout',
      '/.well-known/oauth-authorization-server',
      '/.well-known/openid-configuration',
      '/healthz',
      '/assets/style.css',
      '/metrics',
    ];
    const failures = await fuzz(server.url, paths, 3_000, 20261121);
    const errors = server.logs.filter((line) => line.includes('"level":50'));
    expect(failures, `${JSON.stringify(failures.slice(0, 3), null, 2)}\n${errors.slice(0, 3).join('\n')}`).toEqual([]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(server.logs.join('\n')).not.toContain('"unhandled error"');
  });
});
