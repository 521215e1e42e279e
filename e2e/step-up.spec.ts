import { expect, test } from '@playwright/test';
import { decodeJwt } from 'jose';
import { noLoginExpected } from './checks.ts';
import { UserAtBrowser, type Credentials } from './login-page.ts';
import { callTool, connect, TestOAuthProvider, textOf, type TransportKind } from './mcp-client.ts';
import { freePort, startStack, type Stack } from './stack.ts';

let stack: Stack;
const bob: Credentials = { username: 'bob', password: 'bob-has-no-admin-role' };
test.beforeAll(async () => {
  stack = await startStack();
  await stack.addUser(bob.username, bob.password);
});
test.afterAll(async () => {
  await stack?.stop();
});

/**
 * Logs `who` in with the first challenge's scope (mcp:tools only), then calls admin_report: the
 * server answers 403 insufficient_scope, the SDK client asks for a new authorization with
 * mcp:admin, the user (still signed in) approves the new scope, and the call is repeated.
 */
async function stepUp(page: import('@playwright/test').Page, who: Credentials, kind: TransportKind) {
  const user = new UserAtBrowser(page);
  const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
  const provider = new TestOAuthProvider({ redirectUrl: redirectUri });
  const firstLogin = user.authorizer(redirectUri, async (u) => {
    await u.signIn(who);
    await u.allow();
  });
  const mcp = await connect(stack.mcpUrl, provider, firstLogin, kind);
  expect(decodeJwt(provider.storedTokens!.access_token).scope).toBe('mcp:tools');
  expect((await callTool(mcp, provider, noLoginExpected, 'whoami')).isError).toBeFalsy();

  const approveAdmin = user.authorizer(redirectUri, async (u) => {
    // Signed in already: only the consent for the new scope.
    await u.expectConsentPage(['mcp:admin']);
    await u.allow();
  });
  const result = await callTool(mcp, provider, approveAdmin, 'admin_report');
  await mcp.close();

  expect(provider.authorizationUrls).toHaveLength(2);
  expect(provider.authorizationUrls[1]!.searchParams.get('scope')?.split(' ')).toContain('mcp:admin');
  expect(provider.tokenGrants, 'a new authorization, not a refresh').toEqual(['authorization_code', 'authorization_code']);
  expect(decodeJwt(provider.storedTokens!.access_token).scope?.toString().split(' ')).toContain('mcp:admin');
  expect(await user.loginCount(), 'no second password prompt').toBe(1);
  return { result, sub: decodeJwt(provider.storedTokens!.access_token).sub };
}

const REVISIONS = [
  { kind: 'modern', label: 'step-up on 2026-07-28 (v2 SDK)' },
  { kind: 'v1', label: 'step-up on 2025-11-25 (v1 SDK)' },
] as const;

for (const { kind, label } of REVISIONS) {
  test(`${label}: admin_report with only mcp:tools → 403 insufficient_scope → re-authorization with mcp:admin → an admin succeeds`, async ({
    page,
  }) => {
    const { result, sub } = await stepUp(page, stack.demo, kind);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ generatedFor: sub });
  });

  test(`${label}: a user without the admin role gets the scope but the tool refuses`, async ({ page }) => {
    const { result } = await stepUp(page, bob, kind);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe('Forbidden: admin_report requires the role admin.');
  });
}
