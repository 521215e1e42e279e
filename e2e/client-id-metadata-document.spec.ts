import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { decodeJwt } from 'jose';
import { expectToolsAndSilentRefresh } from './checks.ts';
import { UserAtBrowser } from './login-page.ts';
import { connect, TestOAuthProvider } from './mcp-client.ts';
import { selfSignedCertificate, serveMetadataDocument, type MetadataDocumentServer } from './metadata-document.ts';
import { freePort, startStack, type Stack } from './stack.ts';

const CLIENT_NAME = 'Metadata Document Client';
let dir: string;
let stack: Stack;
let document: MetadataDocumentServer;
let redirectUri: string;

test.beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'e2e-cimd-'));
  redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
  document = await serveMetadataDocument(await selfSignedCertificate(dir), await freePort(), {
    client_name: CLIENT_NAME,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  });
  // The auth server fetches the document over https: make it trust the throwaway certificate.
  stack = await startStack({ NODE_EXTRA_CA_CERTS: document.certPath });
});
test.afterAll(async () => {
  await stack?.stop();
  await document?.close();
  await rm(dir, { recursive: true, force: true });
});

test('a client identified by the URL of its metadata document logs in, calls tools and refreshes, with no registration', async ({
  page,
}) => {
  const user = new UserAtBrowser(page);
  const provider = new TestOAuthProvider({
    redirectUrl: redirectUri,
    clientMetadataUrl: document.clientId,
    clientMetadata: { client_name: CLIENT_NAME },
  });
  const authorize = user.authorizer(redirectUri, async (u) => {
    await u.signIn(stack.demo);
    // The name on the consent page comes from the document the auth server fetched.
    await expect(page.getByText(`${CLIENT_NAME}`, { exact: true })).toBeVisible();
    await expect(page.locator('code', { hasText: document.clientId })).toBeVisible();
    await u.allow();
  });

  const mcp = await connect(stack.mcpUrl, provider, authorize);
  try {
    expect(provider.registrations, 'a URL client_id needs no registration').toBe(0);
    expect(provider.authorizationUrls[0]!.searchParams.get('client_id')).toBe(document.clientId);
    expect(document.fetches()).toBeGreaterThan(0);
    expect(decodeJwt(provider.storedTokens!.access_token)).toMatchObject({ client_id: document.clientId, aud: stack.mcpUrl });
    await expectToolsAndSilentRefresh(mcp, provider, user);
  } finally {
    await mcp.close();
  }
});
