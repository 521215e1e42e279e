import { expect } from '@playwright/test';
import { decodeJwt } from 'jose';
import type { UserAtBrowser } from './login-page.ts';
import { callTool, textOf, type Authorize, type McpConnection, type TestOAuthProvider } from './mcp-client.ts';

/** Used where the test requires that nobody is asked to log in. */
export const noLoginExpected: Authorize = async (url) => {
  throw new Error(`the client asked the user to authorize again: ${url.href}`);
};

/**
 * tools/list → greet → the access token is rejected (as an expired one would be) → the SDK
 * refreshes on the 401 without asking the user → greet again. Returns the token's `sub`.
 */
export async function expectToolsAndSilentRefresh(mcp: McpConnection, provider: TestOAuthProvider, user: UserAtBrowser): Promise<string> {
  const sub = decodeJwt(provider.storedTokens!.access_token).sub!;
  const logins = await user.loginCount();
  const authorizations = provider.authorizationUrls.length;
  const grants = provider.tokenGrants.length;

  const { tools } = await mcp.client.listTools();
  expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['whoami', 'greet', 'reverse', 'admin_report']));
  const greeting = await callTool(mcp, provider, noLoginExpected, 'greet', { name: 'Ada' });
  expect(textOf(greeting)).toBe(`Hello, Ada! Your user id is ${sub}.`);

  const before = provider.storedTokens!;
  provider.spoilAccessToken();
  const again = await callTool(mcp, provider, noLoginExpected, 'greet', { name: 'Grace' });
  expect(textOf(again)).toBe(`Hello, Grace! Your user id is ${sub}.`);
  expect(provider.tokenGrants.slice(grants)).toEqual(['refresh_token']);
  expect(provider.storedTokens!.access_token).not.toBe(before.access_token);
  expect(provider.storedTokens!.refresh_token, 'public clients get a rotated refresh token').not.toBe(before.refresh_token);
  expect(provider.authorizationUrls).toHaveLength(authorizations);
  expect(await user.loginCount(), 'no second login').toBe(logins);
  return sub;
}
