import { expect, test } from '@playwright/test';
import { startStack, type Stack } from './stack.ts';

let stack: Stack;
test.beforeAll(async () => {
  // A short poll, so the revocation is seen within the test's patience; stateless, so a script's
  // single tools/call needs no session.
  stack = await startStack({ RS_REVOCATION_POLL_SECONDS: '1', MCP_STATELESS: '1' });
});
test.afterAll(async () => {
  await stack?.stop();
});

/** whoami at the MCP server with a bearer token, as a script would call it. */
async function whoami(token: string) {
  const response = await fetch(stack.mcpUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
  });
  return { status: response.status, text: await response.text() };
}

test('a user makes a personal access token on /account/tokens, a script uses it at the MCP server, and revoking it there ends it', async ({
  page,
}) => {
  const violations: string[] = [];
  page.on('console', (message) => {
    // The pages run no script: anything the CSP refuses would be a page bug (favicon 404s are not).
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  await page.goto(`${stack.issuer}/account/tokens`);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await page.getByLabel('Username').fill(stack.demo.username);
  await page.getByLabel('Password').fill(stack.demo.password);
  await page.getByRole('button', { name: 'Sign in' }).click();

  await expect(page.getByRole('heading', { name: 'Personal access tokens' })).toBeVisible();
  await page.getByLabel('Name').fill('e2e script');
  await page.getByLabel('Expires in (days, at most 90)').fill('3');
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = await page.getByLabel('The new token').inputValue();
  expect(token).toMatch(/^mcp_pat_/);

  const used = await whoami(token);
  expect(used.status).toBe(200);
  expect(used.text).toContain('pat:');

  // Shown once: reloading the list shows its name and last use, never the token.
  await page.goto(`${stack.issuer}/account/tokens`);
  await expect(page.getByText('e2e script')).toBeVisible();
  expect(await page.content()).not.toContain(token);

  await page.getByRole('button', { name: 'Revoke' }).click();
  await expect(page.getByText('You have no personal access tokens')).toBeVisible();
  await expect.poll(async () => (await whoami(token)).status, { timeout: 3_000 + 2_000 }).toBe(401);
  expect(violations).toEqual([]);
});
