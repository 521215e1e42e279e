import { expect, test } from '@playwright/test';
import { decodeJwt } from 'jose';
import { screenshot, UserAtBrowser } from './login-page.ts';
import { callTool, connect, TestOAuthProvider, textOf, type Authorize } from './mcp-client.ts';
import { freePort, startStack, type Stack } from './stack.ts';

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack();
});
test.afterAll(async () => {
  expect(await stack?.stop(), 'npm start exits 0 on Ctrl-C').toBe(0);
});

/** Used where the test requires that nobody is asked to log in. */
const noLoginExpected: Authorize = async (url) => {
  throw new Error(`the client asked the user to authorize again: ${url.href}`);
};

test('the MCP SDK client discovers, registers, logs in with PKCE and resource, calls tools, and refreshes without a new login', async ({ page }, testInfo) => {
  const user = new UserAtBrowser(page);
  const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
  const provider = new TestOAuthProvider({ redirectUrl: redirectUri });
  const authorize = user.authorizer(redirectUri, async (u) => {
    await u.expectLoginPage();
    await screenshot(page, testInfo, 'login');
    await u.signIn(stack.demo);
    await u.expectConsentPage(['mcp:tools']);
    await screenshot(page, testInfo, 'consent');
    await u.allow();
  });

  const mcp = await connect(stack.mcpUrl, provider, authorize);
  try {
    // What the SDK did on its own: one registration, an S256 PKCE authorization for our resource.
    expect(provider.registrations).toBe(1);
    const authorization = provider.authorizationUrls[0]!;
    expect(authorization.origin + authorization.pathname).toBe(`${stack.issuer}/auth`);
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorization.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(authorization.searchParams.get('resource')).toBe(stack.mcpUrl);
    expect(authorization.searchParams.get('scope')).toBe('mcp:tools');
    expect(provider.tokenGrants).toEqual(['authorization_code']);
    const claims = decodeJwt(provider.storedTokens!.access_token);
    expect(claims).toMatchObject({ iss: stack.issuer, aud: stack.mcpUrl, scope: 'mcp:tools' });
    expect(provider.storedTokens!.refresh_token).toBeTruthy();

    const { tools } = await mcp.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['whoami', 'greet', 'reverse', 'admin_report']));
    const greeting = await callTool(mcp, provider, noLoginExpected, 'greet', { name: 'Ada' });
    expect(textOf(greeting)).toBe(`Hello, Ada! Your user id is ${claims.sub}.`);
    expect(await user.loginCount()).toBe(1);

    // The access token is rejected (as an expired one would be): 401 → refresh → same call succeeds.
    const before = provider.storedTokens!;
    provider.spoilAccessToken();
    const again = await callTool(mcp, provider, noLoginExpected, 'greet', { name: 'Grace' });
    expect(textOf(again)).toBe(`Hello, Grace! Your user id is ${claims.sub}.`);
    expect(provider.tokenGrants).toEqual(['authorization_code', 'refresh_token']);
    expect(provider.storedTokens!.access_token).not.toBe(before.access_token);
    expect(provider.storedTokens!.refresh_token, 'public clients get a rotated refresh token').not.toBe(before.refresh_token);
    expect(provider.authorizationUrls).toHaveLength(1);
    expect(await user.loginCount(), 'no second login').toBe(1);
  } finally {
    await mcp.close();
  }
});
