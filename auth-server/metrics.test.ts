import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, authorize, postForm, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

describe('GET /metrics', () => {
  let open: TestAuthServer;
  let closed: TestAuthServer;
  beforeAll(async () => {
    [open, closed] = await Promise.all([startAuthServer({ METRICS_ALLOW: '127.0.0.1' }), startAuthServer()]);
    await addUser(open);
  });
  afterAll(async () => {
    await Promise.all([open?.close(), closed?.close()]);
  });

  it('is not served unless configured', async () => {
    expect((await fetch(`${closed.url}/metrics`)).status).toBe(404);
  });

  it('is not served to an ip outside the allow-list', async () => {
    const proxied = await startAuthServer({ METRICS_ALLOW: '127.0.0.1', AUTH_TRUST_PROXY: '1' });
    try {
      expect((await fetch(`${proxied.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(404);
      // The client claims to be 127.0.0.1; the proxy appended its real address.
      expect((await fetch(`${proxied.url}/metrics`, { headers: { 'x-forwarded-for': '127.0.0.1, 203.0.113.9' } })).status).toBe(404);
      expect((await fetch(`${proxied.url}/metrics`)).status).toBe(200);
    } finally {
      await proxied.close();
    }
  });

  it('counts requests by route, tokens by grant type, refused token requests and logins by result', async () => {
    // A machine client as the operator makes one (open registration cannot): straight into storage.
    const registered = { client_id: 'metrics-machine', client_secret: 'metrics-machine-secret-0123456789abcdef' };
    await open.storage.models.upsert(
      'Client',
      registered.client_id,
      {
        ...registered,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'mcp:tools',
      },
      undefined,
    );
    const basic = `Basic ${Buffer.from(`${registered.client_id}:${registered.client_secret}`).toString('base64')}`;
    expect(
      (await postForm(`${open.url}/token`, { grant_type: 'client_credentials', scope: 'mcp:tools' }, { authorization: basic })).status,
    ).toBe(200);
    await postForm(`${open.url}/token`, { grant_type: 'client_credentials', scope: 'mcp:admin' }, { authorization: basic });
    const client = await registerPublicClient(open);
    await authorize(open, { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, password: 'wrong' });
    await authorize(open, { clientId: client.client_id, redirectUri: client.redirect_uris[0]! });

    const response = await fetch(`${open.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('auth_server_tokens_issued_total{grant_type="client_credentials"} 1');
    expect(text).toContain('auth_server_token_errors_total{error="invalid_scope"} 1');
    expect(text).toContain('auth_server_logins_total{result="failed"} 1');
    expect(text).toContain('auth_server_logins_total{result="success"} 1');
    expect(text).toMatch(/auth_server_http_requests_total\{route="token",method="POST",status="200"\} 1/);
    expect(text).toMatch(/auth_server_http_requests_total\{route="registration",method="POST",status="201"\} 1/);
    expect(text).toContain('auth_server_process_resident_memory_bytes');
  });
});
