import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from './testing/browser.ts';
import { pkcePair, postForm, RESOURCE, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

/** A resource an operator may not want anonymous callers to learn about. */
const INTERNAL = 'https://internal-billing.example.net/mcp';
const SENT = 'https://unknown.example/api';

let server: TestAuthServer;
beforeAll(async () => {
  server = await startAuthServer({ AUTH_EXTRA_RESOURCES: INTERNAL });
});
afterAll(() => server?.close());

/** The description says what the caller sent, and names none of the configured resources. */
function expectUnknownResource(body: Record<string, unknown>) {
  expect(body.error).toBe('invalid_target');
  expect(String(body.error_description)).toContain(`unknown resource ${SENT}`);
  expect(JSON.stringify(body)).not.toContain(INTERNAL);
  expect(JSON.stringify(body)).not.toContain(RESOURCE);
}

describe('invalid_target does not enumerate the configured resources', () => {
  it('at the token endpoint (refused before any token is looked up)', async () => {
    const client = await registerPublicClient(server);
    const response = await postForm(`${server.url}/token`, {
      grant_type: 'refresh_token',
      refresh_token: 'x',
      client_id: client.client_id,
      resource: SENT,
    });
    expect(response.status).toBe(400);
    expectUnknownResource((await response.json()) as Record<string, unknown>);
  });

  it('at the device authorization endpoint', async () => {
    const client = await registerPublicClient(server, {
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      response_types: [],
      redirect_uris: [],
    });
    const response = await postForm(`${server.url}/device/auth`, { client_id: client.client_id, scope: 'mcp:tools', resource: SENT });
    expect(response.status).toBe(400);
    expectUnknownResource((await response.json()) as Record<string, unknown>);
  });

  it('at the authorization endpoint (the error redirected to the client)', async () => {
    const client = await registerPublicClient(server);
    const params = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0]!,
      response_type: 'code',
      scope: 'mcp:tools',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
      resource: SENT,
    });
    const response = await new TestBrowser().get(`${server.url}/auth?${params}`);
    const location = new URL(response.headers.get('location')!);
    expectUnknownResource(Object.fromEntries(location.searchParams));
  });
});
