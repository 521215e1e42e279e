import { formAction, hiddenField, TestBrowser } from '../../auth-server/testing/browser.ts';
import type { Authorize } from '../../e2e/mcp-client.ts';

export interface Credentials {
  username: string;
  password: string;
}

/**
 * Plays the user, without a real browser, for an authorization URL the SDK produced: opens it,
 * signs in on our login page, allows on the consent page, and returns the URL the browser was
 * sent back to (nothing listens at the redirect URI: the redirect is read, not followed). For
 * e2e/mcp-client.ts's `connect` in vitest tests; the Playwright specs use a real browser.
 */
export function signInAs(credentials: Credentials, redirectUri: string, browser = new TestBrowser()): Authorize {
  return async (authorizationUrl) => {
    let { response, url } = await browser.follow(await browser.get(authorizationUrl.href), redirectUri);
    for (let step = 0; step < 4 && !url.startsWith(redirectUri); step++) {
      const html = await response.text();
      if (html.includes('/login"')) {
        response = await browser.postForm(new URL(formAction(html, '/login'), url).href, {
          csrf: hiddenField(html, 'csrf'),
          ...credentials,
        });
      } else if (html.includes('/confirm"')) {
        response = await browser.postForm(new URL(formAction(html, '/confirm'), url).href, { csrf: hiddenField(html, 'csrf') });
      } else {
        throw new Error(`unexpected page at ${url} (${response.status}): ${html.slice(0, 300)}`);
      }
      ({ response, url } = await browser.follow(response, redirectUri));
    }
    if (!url.startsWith(redirectUri)) throw new Error(`the browser did not get back to ${redirectUri}: ${url}`);
    return new URL(url);
  };
}
