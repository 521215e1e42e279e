import { expect, test } from '@playwright/test';
import { expectToolsAndSilentRefresh } from './checks.ts';
import { UserAtBrowser } from './login-page.ts';
import { connect, TestOAuthProvider } from './mcp-client.ts';
import { startStack, type Stack } from './stack.ts';

/**
 * What MCP Inspector 2.x registers (core/auth/providers.ts, BaseOAuthClientProvider): discovery,
 * registration and the token exchange run in its Node backend, as they do here in the test
 * process (no browser, so no Origin and no CORS); one redirect URI, its UI origin on 127.0.0.1
 * (not localhost); a public client (`none`); an empty scope when it has none saved. Only the
 * sign-in itself happens in the browser.
 */
const INSPECTOR_REDIRECT = 'http://127.0.0.1:6274/oauth/callback';
const INSPECTOR_METADATA = {
  redirect_uris: [INSPECTOR_REDIRECT],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  client_name: 'MCP Inspector',
  client_uri: 'https://github.com/modelcontextprotocol/inspector',
  scope: '',
};

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack();
});
test.afterAll(async () => {
  await stack?.stop();
});

test('a client registered the way MCP Inspector 2.x registers (from its Node backend, 127.0.0.1:6274 callback, auth method none) logs in, calls tools and refreshes', async ({
  page,
}) => {
  const user = new UserAtBrowser(page);
  const provider = new TestOAuthProvider({
    redirectUrl: INSPECTOR_REDIRECT,
    clientMetadata: INSPECTOR_METADATA,
  });
  // Nothing runs on port 6274: the browser's request to the callback is answered by Playwright.
  const authorize = user.authorizer(INSPECTOR_REDIRECT, async (u) => {
    await u.signIn(stack.demo);
    await expect(page.getByText('MCP Inspector')).toBeVisible();
    await expect(page.getByText('127.0.0.1:6274')).toBeVisible();
    await u.allow();
  });

  const mcp = await connect(stack.mcpUrl, provider, authorize);
  try {
    const client = provider.clientInformation()!;
    expect(client).toMatchObject({ redirect_uris: INSPECTOR_METADATA.redirect_uris, token_endpoint_auth_method: 'none' });
    expect('client_secret' in client && client.client_secret).toBeFalsy();
    await expectToolsAndSilentRefresh(mcp, provider, user);
  } finally {
    await mcp.close();
  }
});
