import { expect, test } from '@playwright/test';
import { expectToolsAndSilentRefresh } from './checks.ts';
import { UserAtBrowser } from './login-page.ts';
import { connect, TestOAuthProvider } from './mcp-client.ts';
import { startStack, type Stack } from './stack.ts';

/**
 * What MCP Inspector registers (client/src/lib/auth.ts, InspectorOAuthClientProvider): its UI
 * origin's callback and debug callback, a public client (no secret), and an empty scope when it
 * has none saved.
 */
const INSPECTOR_REDIRECT = 'http://localhost:6274/oauth/callback';
const INSPECTOR_METADATA = {
  redirect_uris: [INSPECTOR_REDIRECT, 'http://localhost:6274/oauth/callback/debug'],
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

test('a client registered the way MCP Inspector registers (localhost:6274 callback, auth method none) logs in, calls tools and refreshes', async ({ page }) => {
  const user = new UserAtBrowser(page);
  const provider = new TestOAuthProvider({
    redirectUrl: INSPECTOR_REDIRECT,
    clientMetadata: INSPECTOR_METADATA,
  });
  // Nothing runs on port 6274: the browser's request to the callback is answered by Playwright.
  const authorize = user.authorizer(INSPECTOR_REDIRECT, async (u) => {
    await u.signIn(stack.demo);
    await expect(page.getByText('MCP Inspector')).toBeVisible();
    await expect(page.getByText('localhost:6274')).toBeVisible();
    await u.allow();
  });

  const mcp = await connect(stack.mcpUrl, provider, authorize);
  try {
    const client = (await provider.clientInformation())!;
    expect(client).toMatchObject({ redirect_uris: INSPECTOR_METADATA.redirect_uris, token_endpoint_auth_method: 'none' });
    expect('client_secret' in client && client.client_secret).toBeFalsy();
    await expectToolsAndSilentRefresh(mcp, provider, user);
  } finally {
    await mcp.close();
  }
});
