import { afterEach, describe, expect, it } from 'vitest';
import { startAuthServer, type TestAuthServer } from './testing/harness.ts';

const servers: TestAuthServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function start(env: Record<string, string>): Promise<TestAuthServer> {
  const server = await startAuthServer(env);
  servers.push(server);
  return server;
}

const warnings = (server: TestAuthServer) =>
  server.logs
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((l) => l.level === 40 && l.msg.includes('AUTH_TRUST_PROXY'));
/** The server listens on loopback; the issuer may name a public https URL it is not reachable at. */
const local = (server: TestAuthServer) => `http://127.0.0.1:${server.config.port}`;

describe('proxy trust', () => {
  it('warns at start when the issuer is https and AUTH_TRUST_PROXY is off, saying to set AUTH_TRUST_PROXY=1', async () => {
    const server = await start({ AUTH_ISSUER: 'https://auth.example.test' });
    expect(warnings(server)).toHaveLength(1);
    expect(warnings(server)[0]!.msg).toContain('AUTH_ISSUER is https but AUTH_TRUST_PROXY is off');
    expect(warnings(server)[0]!.msg).toContain('Set AUTH_TRUST_PROXY=1');
  });

  it('does not warn at start with AUTH_TRUST_PROXY=1, nor for an http issuer', async () => {
    expect(warnings(await start({ AUTH_ISSUER: 'https://auth.example.test', AUTH_TRUST_PROXY: '1' }))).toEqual([]);
    expect(warnings(await start({}))).toEqual([]);
  });

  it('warns once, at the first request carrying X-Forwarded-Proto while AUTH_TRUST_PROXY is off, naming what to set', async () => {
    const server = await start({});
    await fetch(`${local(server)}/.well-known/oauth-authorization-server`).then((r) => r.text());
    expect(warnings(server), 'no proxy header, no warning').toEqual([]);
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${local(server)}/.well-known/oauth-authorization-server`, {
        headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'auth.tunnel.example' },
      });
      await response.text();
    }
    expect(warnings(server)).toHaveLength(1);
    expect(warnings(server)[0]!.msg).toContain('X-Forwarded-Proto: https');
    expect(warnings(server)[0]!.msg).toContain('Set AUTH_TRUST_PROXY=1 and AUTH_ISSUER=https://auth.tunnel.example');
  });

  it('does not warn about forwarded requests when AUTH_TRUST_PROXY=1', async () => {
    const server = await start({ AUTH_TRUST_PROXY: '1' });
    const response = await fetch(`${local(server)}/healthz`, { headers: { 'X-Forwarded-Proto': 'https' } });
    await response.text();
    expect(warnings(server)).toEqual([]);
  });
});
