import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser, formAction, hiddenField } from './testing/browser.ts';
import { addUser, postForm, RESOURCE, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

let server: TestAuthServer;

beforeAll(async () => {
  server = await startAuthServer();
  await addUser(server);
});
afterAll(() => server?.close());

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

async function deviceClient() {
  return registerPublicClient(server, {
    client_name: 'Terminal MCP client',
    grant_types: [DEVICE_GRANT, 'refresh_token'],
    response_types: [],
    redirect_uris: [],
  });
}

/** The user side: enter the code, sign in, consent; returns the last page. */
async function approve(userCode: string, browser = new TestBrowser()) {
  let page = await (await browser.get(`${server.url}/device`)).text();
  let response = await browser.postForm(`${server.url}/device`, { xsrf: hiddenField(page, 'xsrf'), user_code: userCode });
  page = await response.text();
  expect(page).toContain('Confirm the device');
  response = await browser.postForm(`${server.url}/device`, {
    xsrf: hiddenField(page, 'xsrf'),
    user_code: hiddenField(page, 'user_code'),
    confirm: 'yes',
  });
  ({ response } = await browser.follow(response));
  page = await response.text();
  response = await browser.postForm(new URL(formAction(page, '/login'), server.url).href, {
    csrf: hiddenField(page, 'csrf'),
    username: 'alice',
    password: 'correct horse battery staple',
  });
  ({ response } = await browser.follow(response));
  page = await response.text();
  // The consent page of a device grant has no redirect to name: it says where the access goes.
  expect(page).toContain('Allow access?');
  expect(page).toContain('the device that showed you the code');
  expect(page).not.toContain('unknown');
  response = await browser.postForm(new URL(formAction(page, '/confirm'), server.url).href, { csrf: hiddenField(page, 'csrf') });
  ({ response } = await browser.follow(response));
  return response.text();
}

describe('device authorization grant (RFC 8628)', () => {
  it('device code → user enters the code and approves → polling gets a resource JWT and a refresh token', async () => {
    const client = await deviceClient();
    const start = await postForm(`${server.url}/device/auth`, { client_id: client.client_id, scope: 'mcp:tools', resource: RESOURCE });
    expect(start.status).toBe(200);
    const device = (await start.json()) as {
      device_code: string;
      user_code: string;
      verification_uri: string;
      verification_uri_complete: string;
      interval: number;
    };
    expect(device.verification_uri).toBe(`${server.url}/device`);
    expect(device.user_code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);

    const pending = await postForm(`${server.url}/token`, {
      grant_type: DEVICE_GRANT,
      device_code: device.device_code,
      client_id: client.client_id,
    });
    expect(await pending.json()).toMatchObject({ error: 'authorization_pending' });

    const done = await approve(device.user_code);
    expect(done).toContain('Device connected');

    const token = await postForm(`${server.url}/token`, {
      grant_type: DEVICE_GRANT,
      device_code: device.device_code,
      client_id: client.client_id,
    });
    expect(token.status).toBe(200);
    const body = (await token.json()) as { access_token: string; refresh_token: string; scope: string };
    expect(body.scope).toBe('mcp:tools');
    expect(body.refresh_token).toBeTypeOf('string');
    expect(JSON.parse(Buffer.from(body.access_token.split('.')[1]!, 'base64url').toString()).aud).toBe(RESOURCE);
  });

  it('the confirm page shows who asks for what: client id, requested scopes and resources, where the request came from', async () => {
    const client = await deviceClient();
    const device = (await (
      await postForm(`${server.url}/device/auth`, { client_id: client.client_id, scope: 'mcp:tools mcp:admin', resource: RESOURCE })
    ).json()) as { user_code: string };
    const browser = new TestBrowser();
    const input = await (await browser.get(`${server.url}/device`)).text();
    const response = await browser.postForm(`${server.url}/device`, { xsrf: hiddenField(input, 'xsrf'), user_code: device.user_code });
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page).toContain('Confirm the device');
    expect(page).toContain('Terminal MCP client');
    expect(page).toContain(client.client_id);
    expect(page).toContain('<code>mcp:tools</code>');
    expect(page).toContain('<code>mcp:admin</code>');
    expect(page).toContain(`<code>${RESOURCE}</code>`);
    expect(page).toContain('127.0.0.1');
    expect(page).toMatch(/<button[^>]*>Continue<\/button>/);
    expect(page).toMatch(/<button[^>]*>Abort<\/button>/);
  });

  it('the confirm page names the default resource when the device asked for none', async () => {
    const client = await deviceClient();
    const device = (await (await postForm(`${server.url}/device/auth`, { client_id: client.client_id, scope: 'mcp:tools' })).json()) as {
      user_code: string;
    };
    const browser = new TestBrowser();
    const input = await (await browser.get(`${server.url}/device`)).text();
    const page = await (
      await browser.postForm(`${server.url}/device`, { xsrf: hiddenField(input, 'xsrf'), user_code: device.user_code })
    ).text();
    expect(page).toContain(`<code>${RESOURCE}</code>`);
    expect(page).toContain('<code>mcp:tools</code>');
  });

  it('shows an error on the code page for a wrong user code', async () => {
    const browser = new TestBrowser();
    const page = await (await browser.get(`${server.url}/device`)).text();
    const response = await browser.postForm(`${server.url}/device`, { xsrf: hiddenField(page, 'xsrf'), user_code: 'BBBB-BBBB' });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('That code is not valid');
  });

  it('refuses the code form without its xsrf token', async () => {
    const client = await deviceClient();
    const device = (await (await postForm(`${server.url}/device/auth`, { client_id: client.client_id, scope: 'mcp:tools' })).json()) as {
      user_code: string;
    };
    const browser = new TestBrowser();
    await browser.get(`${server.url}/device`);
    const response = await browser.postForm(`${server.url}/device`, { user_code: device.user_code });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(await response.text()).not.toContain('Confirm the device');
  });

  it('answers polling after the user aborts with access_denied', async () => {
    const client = await deviceClient();
    const device = (await (await postForm(`${server.url}/device/auth`, { client_id: client.client_id, scope: 'mcp:tools' })).json()) as {
      user_code: string;
      device_code: string;
    };
    const browser = new TestBrowser();
    let page = await (await browser.get(`${server.url}/device`)).text();
    page = await (await browser.postForm(`${server.url}/device`, { xsrf: hiddenField(page, 'xsrf'), user_code: device.user_code })).text();
    await browser.postForm(`${server.url}/device`, {
      xsrf: hiddenField(page, 'xsrf'),
      user_code: hiddenField(page, 'user_code'),
      abort: 'yes',
    });
    const token = await postForm(`${server.url}/token`, {
      grant_type: DEVICE_GRANT,
      device_code: device.device_code,
      client_id: client.client_id,
    });
    expect(await token.json()).toMatchObject({ error: 'access_denied' });
  });
});
