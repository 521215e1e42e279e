import { expect, test } from '@playwright/test';
import { decodeJwt } from 'jose';
import { UserAtBrowser } from './login-page.ts';
import { connect, textOf, TestOAuthProvider } from './mcp-client.ts';
import { freePort, startStack, type Stack } from './stack.ts';

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack();
});
test.afterAll(async () => {
  expect(await stack?.stop(), 'npm start exits 0 on Ctrl-C').toBe(0);
});

test('the MCP SDK SSE client (legacy HTTP+SSE) discovers the /sse metadata, registers, signs in and calls a tool over /sse', async ({
  page,
}) => {
  const sseUrl = new URL('/sse', stack.mcpUrl).href;
  const user = new UserAtBrowser(page);
  const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
  const provider = new TestOAuthProvider({ redirectUrl: redirectUri });
  const authorize = user.authorizer(redirectUri, async (u) => {
    await u.expectLoginPage();
    await u.signIn(stack.demo);
    await u.expectConsentPage(['mcp:tools']);
    await u.allow();
  });

  const mcp = await connect(sseUrl, provider, authorize, 'sse');
  try {
    // The SDK asked for the /sse resource (RFC 9728 §3.3: the metadata's resource is the URL it called).
    expect(provider.registrations).toBe(1);
    expect(provider.authorizationUrls[0]!.searchParams.get('resource')).toBe(sseUrl);
    expect(decodeJwt(provider.storedTokens!.access_token)).toMatchObject({ iss: stack.issuer, aud: sseUrl, scope: 'mcp:tools' });

    const result = await mcp.client.callTool({ name: 'greet', arguments: { name: 'SSE' } });
    expect(textOf(result as Parameters<typeof textOf>[0])).toMatch(/^Hello, SSE! Your user id is /);
    expect(await user.loginCount()).toBe(1);
  } finally {
    await mcp.close();
  }
});
