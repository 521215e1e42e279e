import { expect, test, type Page } from '@playwright/test';
import { screenshot, UserAtBrowser, type Credentials } from './login-page.ts';
import { connect, TestOAuthProvider } from './mcp-client.ts';
import { freePort, startStack, type Stack } from './stack.ts';

let stack: Stack;
test.beforeAll(async () => {
  // Next keys may sign as soon as they exist: the test rotates right after the start.
  // A 1-second feed poll: the MCP server's refusals (the client's first request has no token)
  // reach the dashboard long before the test looks at it.
  stack = await startStack({ AUTH_KEY_MIN_NEXT_AGE: '0', RS_REVOCATION_POLL_SECONDS: '1' });
});
test.afterAll(async () => {
  await stack?.stop();
});
// The console is a wide page.
test.use({ viewport: { width: 1200, height: 800 } });

/** Opens the console and signs in on the ordinary login page, which names the console as the client. */
async function signInToConsole(page: Page, user: Credentials, path = '/admin'): Promise<void> {
  await page.goto(`${stack.issuer}${path}`);
  const login = new UserAtBrowser(page);
  await login.expectLoginPage();
  await expect(page.locator('.lead')).toContainText('Admin console');
  await expect(page.locator('.lead .badge'), 'the console is a verified first-party client').toHaveCount(0);
  await login.signIn(user);
}

test('an account without the admin role is refused after signing in', async ({ page }) => {
  await stack.addUser('bob', 'bob has a long password', []);
  await signInToConsole(page, { username: 'bob', password: 'bob has a long password' });
  await expect(page.getByRole('heading', { name: 'Administrators only' })).toBeVisible();
  const again = await page.goto(`${stack.issuer}/admin/users`);
  expect(again?.status()).toBe(403);
});

test('a form post without the page’s CSRF token is refused, and nothing happens', async ({ page }) => {
  await signInToConsole(page, stack.demo, '/admin/keys');
  await expect(page.getByRole('heading', { name: 'Signing keys' })).toBeVisible();
  const keys = await page.locator('tbody tr').count();
  // The browser's own cookies, a forged token: what a cross-site form could at best send.
  for (const form of [{}, { csrf: 'forged' }] as Record<string, string>[]) {
    const response = await page.request.post(`${stack.issuer}/admin/keys/rotate`, { form, maxRedirects: 0 });
    expect(response.status()).toBe(403);
    expect(await response.text()).toContain('csrf_check_failed');
  }
  await page.reload();
  await expect(page.locator('tbody tr')).toHaveCount(keys);
});

test('create a user → revoke their grant (and a PAT) → disable their client → rotate the keys', async ({ page, browser }, testInfo) => {
  await signInToConsole(page, stack.demo);
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();

  // Create a user: the password is shown once.
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByLabel('Username', { exact: true }).fill('carol');
  await page.getByLabel('Name', { exact: true }).fill('Carol Example');
  await page.getByLabel('Email', { exact: true }).fill('carol@example.com');
  await page.getByLabel('Roles', { exact: true }).fill('user');
  await page.getByRole('button', { name: 'Create user' }).click();
  await expect(page.getByRole('heading', { name: 'User created' })).toBeVisible();
  const password = (await page.locator('#password').textContent())!.trim();
  expect(password.length).toBeGreaterThanOrEqual(15);
  await screenshot(page, testInfo, 'admin-user-created');

  // Carol connects an MCP client in her own browser: a grant to revoke.
  const carolContext = await browser.newContext();
  const carol = new UserAtBrowser(await carolContext.newPage());
  const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
  const provider = new TestOAuthProvider({ redirectUrl: redirectUri, clientMetadata: { client_name: 'Carol’s MCP client' } });
  const mcp = await connect(
    stack.mcpUrl,
    provider,
    carol.authorizer(redirectUri, async (u) => {
      await u.signIn({ username: 'carol', password });
      await u.allow();
    }),
  );
  await mcp.close();
  await carolContext.close();
  const clientId = provider.clientInformation()!.client_id;

  // Revoke the grant from Carol's page.
  await page.getByRole('link', { name: 'Open carol' }).click();
  await expect(page.getByRole('heading', { name: 'carol' })).toBeVisible();
  const grants = page.locator('h2:has-text("Grants") + table tbody tr');
  await expect(grants).toHaveCount(1);
  await expect(grants).toContainText(clientId);
  await expect(grants).toContainText('mcp:tools');
  await grants.getByRole('button', { name: 'Revoke grant' }).click();
  await expect(page.getByRole('status')).toHaveText('Revoked.');
  await expect(page.getByText('No grants.')).toBeVisible();

  // A personal access token for Carol: shown once, then revoked.
  await page.getByLabel('Token name').fill('nightly build');
  await page.getByRole('button', { name: 'Create token for carol' }).click();
  await expect(page.locator('#pat')).toContainText('mcp_pat_');
  const pats = page.locator('#pats tbody tr');
  await expect(pats).toHaveCount(1);
  await expect(pats).toContainText('nightly build');
  // The part of the page with grants, sessions and the new token in view.
  await page.getByRole('heading', { name: 'Grants' }).evaluate((heading) => heading.scrollIntoView());
  await screenshot(page, testInfo, 'admin-user', { fullPage: false });
  await pats.getByRole('button', { name: 'Revoke token' }).click();
  await expect(page.getByRole('status')).toHaveText('Personal access token revoked.');
  await expect(page.getByText('No personal access tokens.')).toBeVisible();

  // Disable her client from the Clients page.
  await page.getByRole('link', { name: 'Clients', exact: true }).click();
  const row = page.locator('tbody tr', { hasText: clientId });
  await expect(row).toContainText('DCR');
  await screenshot(page, testInfo, 'admin-clients');
  await row.getByRole('link').first().click();
  await page.getByRole('button', { name: 'Disable client' }).click();
  await expect(page.getByRole('status')).toHaveText('Disabled.');
  await expect(page.locator('h1 .badge')).toHaveText('disabled');
  await screenshot(page, testInfo, 'admin-client');
  const refused = await fetch(`${stack.issuer}/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x', client_id: clientId }),
  });
  expect(((await refused.json()) as { error: string }).error, 'a disabled client is unknown to the token endpoint').toBe('invalid_client');

  // Rotate the keys.
  await page.getByRole('link', { name: 'Keys' }).click();
  const before = await page.locator('tbody tr').count();
  await page.getByRole('button', { name: 'Rotate signing keys' }).click();
  await expect(page.getByRole('status')).toContainText('Rotated: the next keys sign now');
  await expect(page.locator('strong.state-retiring')).toHaveCount(2);
  await expect(page.locator('tbody tr')).toHaveCount(before + 2);
  await screenshot(page, testInfo, 'admin-keys');

  // Every step is in the audit, with the admin's id.
  await page.getByRole('link', { name: 'Audit' }).click();
  await page.getByLabel('Event').fill('admin');
  await page.getByRole('button', { name: 'Filter' }).click();
  for (const event of [
    'admin.user.created',
    'admin.grant.revoked',
    'admin.pat.created',
    'admin.pat.revoked',
    'admin.client.disabled',
    'admin.keys.rotated',
  ]) {
    await expect(page.locator('tbody code', { hasText: event })).toHaveCount(1);
  }
  await screenshot(page, testInfo, 'admin-audit');

  await page.getByRole('link', { name: 'Dashboard' }).click();
  await expect(page.locator('svg.chart')).toHaveCount(4);
  await expect(page.locator('svg.chart').first()).toContainText('authorization_code (1)');
  await expect(page.locator('svg.chart').nth(3)).toContainText(/401 missing_token \(\d+\)/);
  await screenshot(page, testInfo, 'admin-dashboard');
  await page.getByRole('link', { name: 'Users' }).click();
  await screenshot(page, testInfo, 'admin-users');
});
