import { expect, test } from '@playwright/test';
import { screenshot, UserAtBrowser } from './login-page.ts';
import { AuthorizationError, connect, TestOAuthProvider } from './mcp-client.ts';
import { freePort, startStack, type Stack } from './stack.ts';

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack();
});
test.afterAll(async () => {
  await stack?.stop();
});

test('a wrong password shows the error on the login page; the right one then gets through', async ({ page }, testInfo) => {
  const user = new UserAtBrowser(page);
  const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
  const provider = new TestOAuthProvider({ redirectUrl: redirectUri });
  const authorize = user.authorizer(redirectUri, async (u) => {
    await u.signIn({ username: stack.demo.username, password: `${stack.demo.password}-wrong` });
    await expect(page.getByRole('alert')).toHaveText('Wrong username or password, or the account is disabled.');
    await u.expectLoginPage();
    await expect(page.getByLabel('Username'), 'the username is kept').toHaveValue(stack.demo.username);
    await screenshot(page, testInfo, 'login-error');
    await u.signIn(stack.demo);
    await u.allow();
  });

  const mcp = await connect(stack.mcpUrl, provider, authorize);
  await mcp.close();
  expect(await user.loginCount()).toBe(2);
  expect(provider.tokenGrants).toEqual(['authorization_code']);
});

test('Deny on the consent page sends access_denied back to the client, which gets no token', async ({ page }) => {
  const user = new UserAtBrowser(page);
  const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
  const provider = new TestOAuthProvider({ redirectUrl: redirectUri });
  const authorize = user.authorizer(redirectUri, async (u) => {
    await u.signIn(stack.demo);
    await u.deny();
  });

  const failure = await connect(stack.mcpUrl, provider, authorize).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(AuthorizationError);
  const { callback } = failure as AuthorizationError;
  expect(callback.searchParams.get('error')).toBe('access_denied');
  expect(callback.searchParams.get('state'), 'the client can match the answer to its request').toBe(provider.lastState);
  expect(callback.searchParams.get('iss'), 'RFC 9207 issuer identification').toBe(stack.issuer);
  expect(callback.searchParams.has('code')).toBe(false);
  expect(provider.tokenGrants).toEqual([]);
  expect(provider.storedTokens).toBeUndefined();
});

test('an authorization request from an unknown client gets our error page, not a redirect', async ({ page }, testInfo) => {
  const params = new URLSearchParams({
    client_id: 'no-such-client',
    redirect_uri: 'http://127.0.0.1:9/callback',
    response_type: 'code',
    scope: 'mcp:tools',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  });
  const response = await page.goto(`${stack.issuer}/auth?${params}`);
  expect(response?.status()).toBe(400);
  expect(new URL(page.url()).origin, 'the browser stays on the auth server').toBe(stack.issuer);
  await expect(page.getByRole('heading', { name: 'This request could not be completed' })).toBeVisible();
  await expect(page.locator('.error-code')).toContainText('invalid_client');
  await screenshot(page, testInfo, 'error');
});
