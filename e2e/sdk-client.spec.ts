import { expect, test } from '@playwright/test';
import { decodeJwt } from 'jose';
import { expectToolsAndSilentRefresh } from './checks.ts';
import { screenshot, UserAtBrowser } from './login-page.ts';
import { connect, TestOAuthProvider } from './mcp-client.ts';
import { freePort, startStack, type Stack } from './stack.ts';

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack();
});
test.afterAll(async () => {
  expect(await stack?.stop(), 'npm start exits 0 on Ctrl-C').toBe(0);
});

/** Both generations against the same server: the v2 SDK on 2026-07-28 (stateless), the v1 SDK on 2025-11-25 (session). */
const CLIENTS = [
  // v2 adds offline_access to what it asks for when the AS offers it and the client may refresh (SEP-2207).
  { kind: 'modern', revision: '2026-07-28', scope: 'mcp:tools offline_access', label: 'the v2 MCP SDK client on 2026-07-28' },
  { kind: 'v1', revision: '2025-11-25', scope: 'mcp:tools', label: 'the v1 MCP SDK client on 2025-11-25' },
] as const;

for (const { kind, revision, scope, label } of CLIENTS) {
  test(`${label} discovers, registers, logs in with PKCE and resource, calls tools, and refreshes without a new login`, async ({
    page,
  }, testInfo) => {
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

    const mcp = await connect(stack.mcpUrl, provider, authorize, kind);
    try {
      expect(mcp.revision).toBe(revision);
      // What the SDK did on its own: one registration, an S256 PKCE authorization for our resource.
      expect(provider.registrations).toBe(1);
      const authorization = provider.authorizationUrls[0]!;
      expect(authorization.origin + authorization.pathname).toBe(`${stack.issuer}/auth`);
      expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
      expect(authorization.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
      expect(authorization.searchParams.get('resource')).toBe(stack.mcpUrl);
      expect(authorization.searchParams.get('scope')).toBe(scope);
      expect(provider.tokenGrants).toEqual(['authorization_code']);
      expect(decodeJwt(provider.storedTokens!.access_token)).toMatchObject({ iss: stack.issuer, aud: stack.mcpUrl, scope: 'mcp:tools' });
      expect(provider.storedTokens!.refresh_token).toBeTruthy();
      expect(await user.loginCount()).toBe(1);

      await expectToolsAndSilentRefresh(mcp, provider, user);
    } finally {
      await mcp.close();
    }
  });
}
