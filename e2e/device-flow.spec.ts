import { expect, test } from '@playwright/test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { decodeJwt } from 'jose';
import { screenshot, UserAtBrowser } from './login-page.ts';
import { textOf } from './mcp-client.ts';
import { startStack, type Stack } from './stack.ts';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack();
});
test.afterAll(async () => {
  await stack?.stop();
});

async function post(url: string, form: Record<string, string | string[]>): Promise<{ status: number; body: Record<string, any> }> {
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(form)) for (const v of [value].flat()) body.append(key, v);
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** What a terminal client does while the user approves: polls at the announced interval (RFC 8628 §3.4–3.5). */
async function pollForToken(tokenUrl: string, clientId: string, deviceCode: string, intervalSeconds: number, pending: string[]) {
  let interval = intervalSeconds;
  for (let attempt = 0; attempt < 12; attempt++) {
    const { status, body } = await post(tokenUrl, { grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: clientId });
    if (status === 200) return body as { access_token: string; refresh_token?: string; scope: string };
    pending.push(String(body.error));
    if (body.error === 'slow_down') interval += 5;
    else if (body.error !== 'authorization_pending') throw new Error(`device token request failed: ${status} ${JSON.stringify(body)}`);
    await new Promise((done) => setTimeout(done, interval * 1000));
  }
  throw new Error('the device code was never approved');
}

test('device flow: a device code over HTTP, the user enters it and approves in the browser, polling gets a token that calls a tool', async ({
  page,
}, testInfo) => {
  const registration = await fetch(`${stack.issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Terminal MCP client',
      grant_types: [DEVICE_GRANT, 'refresh_token'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'none',
    }),
  });
  expect(registration.status).toBe(201);
  const { client_id: clientId } = (await registration.json()) as { client_id: string };

  const start = await post(`${stack.issuer}/device/auth`, { client_id: clientId, scope: 'mcp:tools', resource: stack.mcpUrl });
  expect(start.status).toBe(200);
  const device = start.body as { device_code: string; user_code: string; verification_uri: string; interval?: number };
  expect(device.verification_uri).toBe(`${stack.issuer}/device`);

  const pending: string[] = [];
  const token = pollForToken(`${stack.issuer}/token`, clientId, device.device_code, device.interval ?? 5, pending);

  // The user, on another screen: open the verification URI, type the code, confirm, sign in, allow.
  const user = new UserAtBrowser(page);
  await page.goto(device.verification_uri);
  await expect(page.getByRole('heading', { name: 'Connect a device' })).toBeVisible();
  await page.locator('input[name="user_code"]').fill(device.user_code);
  await screenshot(page, testInfo, 'device-code');
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('heading', { name: 'Confirm the device' })).toBeVisible();
  await expect(page.locator('.user-code')).toHaveText(device.user_code);
  await expect(page.getByText('Terminal MCP client')).toBeVisible();
  await screenshot(page, testInfo, 'device-confirm');
  await page.getByRole('button', { name: 'Continue' }).click();
  await user.signIn(stack.demo);
  await user.allow();
  await expect(page.getByRole('heading', { name: 'Device connected' })).toBeVisible();
  await screenshot(page, testInfo, 'device-done');

  const tokens = await token;
  expect(pending[0], 'the client was told to wait while the user approved').toBe('authorization_pending');
  expect(tokens.scope).toBe('mcp:tools');
  expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: stack.mcpUrl, iss: stack.issuer, client_id: clientId });

  const transport = new StreamableHTTPClientTransport(new URL(stack.mcpUrl), {
    requestInit: { headers: { Authorization: `Bearer ${tokens.access_token}` } },
  });
  const client = new Client({ name: 'terminal-client', version: '1.0.0' });
  await client.connect(transport);
  try {
    const result = (await client.callTool({ name: 'greet', arguments: { name: 'Device' } })) as CallToolResult;
    expect(textOf(result)).toBe(`Hello, Device! Your user id is ${decodeJwt(tokens.access_token).sub}.`);
  } finally {
    await client.close();
  }
});

test('device flow: a mistyped user code shows the error on the code page', async ({ page }) => {
  await page.goto(`${stack.issuer}/device`);
  await page.locator('input[name="user_code"]').fill('BBBB-BBBB');
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('alert')).toHaveText('That code is not valid. Check it and try again.');
});
