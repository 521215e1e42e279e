import { expect, test } from '@playwright/test';
import { conformanceProblems, conformanceVersion, runConformance } from '../common/testing/conformance.ts';
import { screenshot, UserAtBrowser } from './login-page.ts';
import { freePort, startStack, type Stack } from './stack.ts';

/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, pinned in package.json)
 * against the auth server of the real stack: `conformance authorization` runs both of its
 * authorization-server scenarios, and this test plays the user at the URL it prints.
 * Its `authorization-code-grant` sends S256 PKCE, `state` and `resource` but no `scope`.
 */
const SCENARIOS = ['authorization-server-metadata-endpoint', 'authorization-code-grant'];

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack();
});
test.afterAll(async () => {
  expect(await stack?.stop(), 'npm start exits 0 on Ctrl-C').toBe(0);
});

test('the official MCP conformance suite passes every authorization-server check, with no warnings, for a user who signs in and consents', async ({
  page,
}, testInfo) => {
  test.setTimeout(150_000);
  const port = await freePort();
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  // The suite takes a client id; it registers nothing itself. A public client, as MCP clients register.
  const registration = await fetch(`${stack.issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'MCP conformance suite',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }),
  });
  expect(registration.status).toBe(201);
  const { client_id: clientId } = (await registration.json()) as { client_id: string };

  // Both scenarios in one run (no --scenario): the code grant reads the metadata the first one fetched.
  const run = runConformance(
    'authorization',
    ['--url', stack.issuer, '--client-id', clientId, '--resource', stack.mcpUrl, '--port', String(port)],
    {
      timeoutMs: 120_000,
    },
  );
  let consentScopes: string[] | undefined;
  try {
    const authorizationUrl = new URL((await run.waitForOutput(new RegExp(`^${escapeRegExp(stack.issuer)}/auth\\?\\S+$`, 'm'), 30_000))[0]);
    expect(authorizationUrl.searchParams.get('resource')).toBe(stack.mcpUrl);
    expect(authorizationUrl.searchParams.has('scope'), 'the suite asks without a scope').toBe(false);

    const user = new UserAtBrowser(page);
    await page.goto(authorizationUrl.href);
    await user.signIn(stack.demo);
    // The consent page, or (the defect this guards against) straight back to the suite with an error.
    const consent = page.getByRole('heading', { name: 'Allow access?' });
    const backAtSuite = page.getByText('OK. You can close this page.');
    await expect(consent.or(backAtSuite)).toBeVisible();
    if (await consent.isVisible()) {
      consentScopes = await page.locator('ul.scopes code').allTextContents();
      await screenshot(page, testInfo, 'consent-default-scope');
      await user.allow();
      await page.waitForURL((url) => url.href.startsWith(redirectUri));
    }

    const result = await run.result;
    await testInfo.attach('conformance output', { body: result.output, contentType: 'text/plain' });
    await testInfo.attach('conformance checks', {
      body: JSON.stringify(Object.fromEntries(result.scenarios), null, 2),
      contentType: 'application/json',
    });
    expect(conformanceProblems(result, SCENARIOS), `conformance ${conformanceVersion()}:\n${result.output}`).toEqual([]);
    expect(consentScopes, 'the consent page names the default scope it will grant').toEqual(['mcp:tools']);
    // The token response the suite received (tokens redacted by the suite) reports the default scope.
    const grant = result.scenarios.get('authorization-code-grant')![0]!;
    expect(grant.details?.body).toMatchObject({ token_type: 'Bearer', scope: 'mcp:tools' });
  } finally {
    run.kill();
  }
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
