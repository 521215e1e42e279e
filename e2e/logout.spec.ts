import { expect, test } from '@playwright/test';
import { UserAtBrowser } from './login-page.ts';
import { connect, TestOAuthProvider } from './mcp-client.ts';
import { freePort, startStack, type Stack } from './stack.ts';

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack();
});
test.afterAll(async () => {
  await stack?.stop();
});

test('logout ends the browser session: the next authorization shows the login page again', async ({ page }) => {
  const user = new UserAtBrowser(page);
  const login = async () => {
    const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
    return { redirectUri, provider: new TestOAuthProvider({ redirectUrl: redirectUri }) };
  };

  const first = await login();
  await (
    await connect(
      stack.mcpUrl,
      first.provider,
      user.authorizer(first.redirectUri, async (u) => {
        await u.signIn(stack.demo);
        await u.allow();
      }),
    )
  ).close();

  // While the session lasts, another client's authorization asks only for consent.
  const second = await login();
  await (
    await connect(
      stack.mcpUrl,
      second.provider,
      user.authorizer(second.redirectUri, async (u) => {
        await u.allow();
      }),
    )
  ).close();
  expect(await user.loginCount()).toBe(1);

  await page.goto(`${stack.issuer}/session/end`);
  await expect(page.getByRole('heading', { name: 'Sign out?' })).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Signed out' })).toBeVisible();

  const third = await login();
  await (
    await connect(
      stack.mcpUrl,
      third.provider,
      user.authorizer(third.redirectUri, async (u) => {
        await u.signIn(stack.demo);
        await u.allow();
      }),
    )
  ).close();
  expect(await user.loginCount()).toBe(2);
});
