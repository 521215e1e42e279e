import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, type Page, type TestInfo } from '@playwright/test';
import type { Authorize } from './mcp-client.ts';
import { ROOT } from './stack.ts';

export interface Credentials {
  username: string;
  password: string;
}

/**
 * The user at the browser: our login, consent and device pages, driven the way a person would
 * (labels and button names, no form posting behind the page's back).
 */
export class UserAtBrowser {
  readonly page: Page;
  /** How many times the login form was shown (counted from the pages the server sent). */
  loginPagesShown = 0;
  #pending: Promise<void>[] = [];
  #routed = new Set<string>();

  constructor(page: Page) {
    this.page = page;
    page.on('response', (response) => {
      if (response.request().resourceType() !== 'document' || !/\/interaction\/[^/]+(\/login)?$/.test(new URL(response.url()).pathname))
        return;
      this.#pending.push(
        response.text().then(
          (html) => void (html.includes('name="password"') && this.loginPagesShown++),
          () => undefined,
        ),
      );
    });
  }

  /** The login page count once every page received so far has been looked at. */
  async loginCount(): Promise<number> {
    await Promise.all(this.#pending);
    return this.loginPagesShown;
  }

  /**
   * An `Authorize` for the SDK client helpers: opens the authorization URL, runs `steps` (what
   * the user does on our pages), and returns the URL the browser was redirected to. Nothing
   * listens at the redirect URI: the browser's request to it is answered by Playwright.
   */
  authorizer(redirectUri: string, steps: (user: this) => Promise<void>): Authorize {
    return async (authorizationUrl) => {
      if (!this.#routed.has(redirectUri)) {
        this.#routed.add(redirectUri);
        await this.page.context().route(
          (url) => url.href.startsWith(redirectUri),
          (route) => route.fulfill({ contentType: 'text/html', body: '<h1>Back in the application</h1><p>You can close this window.</p>' }),
        );
      }
      await this.page.goto(authorizationUrl.href);
      await steps(this);
      await this.page.waitForURL((url) => url.href.startsWith(redirectUri));
      return new URL(this.page.url());
    };
  }

  async expectLoginPage(): Promise<void> {
    await expect(this.page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  }

  async signIn(user: Credentials): Promise<void> {
    await this.expectLoginPage();
    await this.page.getByLabel('Username').fill(user.username);
    await this.page.getByLabel('Password').fill(user.password);
    await this.page.getByRole('button', { name: 'Sign in' }).click();
  }

  async expectConsentPage(scopes: string[] = []): Promise<void> {
    await expect(this.page.getByRole('heading', { name: 'Allow access?' })).toBeVisible();
    for (const scope of scopes) await expect(this.page.locator('ul.scopes code', { hasText: scope })).toBeVisible();
  }

  async allow(): Promise<void> {
    await this.expectConsentPage();
    await this.page.getByRole('button', { name: 'Allow' }).click();
  }

  async deny(): Promise<void> {
    await this.expectConsentPage();
    await this.page.getByRole('button', { name: 'Deny' }).click();
  }
}

/**
 * Saves a screenshot with the test report; with UPDATE_SCREENSHOTS=1 also as
 * e2e/screenshots/<name>.png (the README shows those), so a plain test run leaves git clean.
 */
export async function screenshot(page: Page, testInfo: TestInfo, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  // The whole page by default; `fullPage: false` keeps a long page's picture to what is in view.
  const body = await page.screenshot({ fullPage: options.fullPage ?? true });
  await testInfo.attach(name, { body, contentType: 'image/png' });
  if (process.env.UPDATE_SCREENSHOTS !== '1') return;
  const dir = join(ROOT, 'e2e', 'screenshots');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${name}.png`), body);
}
