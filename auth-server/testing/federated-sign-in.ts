import { randomBytes } from 'node:crypto';
import { formAction, hiddenField, TestBrowser } from './browser.ts';
import { addUser, freePort, pkcePair, postForm, postJson, startAuthServer, type TestAuthServer } from './harness.ts';

/**
 * A person signing in at a downstream auth server through an upstream one (upstream/): one cookie
 * jar per origin, the "Continue with" link, the upstream's login and consent pages, then the
 * downstream's consent. Shared by the federation, token vault and upstream_profile tests.
 */

/** Our own auth server as the OIDC upstream, with the downstream's client registered there. */
export interface UpstreamAuthServer extends TestAuthServer {
  /** The downstream's confidential client at the upstream. */
  client: { client_id: string; client_secret: string };
  /** The downstream's AUTH_UPSTREAMS entry for it (id `ours`, the one its client's redirect URI names). */
  provider(extra?: Record<string, unknown>): Record<string, unknown>;
}

/**
 * Starts our own auth server as an upstream IdP on 127.0.0.1 (so its cookies are not those of the
 * downstream on localhost), adds `users` (name → roles, the test users' password), and registers
 * the downstream at `downstreamPort` as a confidential client, as an operator would.
 */
export async function startUpstreamAuthServer(downstreamPort: number, users: Record<string, string[]>): Promise<UpstreamAuthServer> {
  const initialAccessToken = 'initial-access-token-for-tests';
  const upPort = await freePort();
  const server = await startAuthServer({
    AUTH_PORT: String(upPort),
    AUTH_ISSUER: `http://127.0.0.1:${upPort}`,
    AUTH_INITIAL_ACCESS_TOKEN: initialAccessToken,
  });
  for (const [username, roles] of Object.entries(users)) await addUser(server, username, roles);
  const registration = await postJson(
    `${server.url}/reg`,
    {
      client_name: 'Downstream auth server',
      redirect_uris: [`http://localhost:${downstreamPort}/upstream/ours/callback`],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    { authorization: `Bearer ${initialAccessToken}` },
  );
  if (registration.status !== 201) {
    await server.close();
    throw new Error(`registration at the upstream: ${registration.status} ${await registration.text()}`);
  }
  const client = (await registration.json()) as UpstreamAuthServer['client'];
  return {
    ...server,
    client,
    provider: (extra = {}) => ({
      id: 'ours',
      name: 'Upstream AS',
      type: 'oidc',
      issuer: server.url,
      clientId: client.client_id,
      clientSecret: client.client_secret,
      ...extra,
    }),
  };
}

/** One cookie jar per origin, as a browser keeps them per site; redirects followed across sites. */
export class Browsers {
  readonly #jars = new Map<string, TestBrowser>();
  jar(url: string): TestBrowser {
    const origin = new URL(url).origin;
    if (!this.#jars.has(origin)) this.#jars.set(origin, new TestBrowser());
    return this.#jars.get(origin)!;
  }
  get(url: string) {
    return this.jar(url).get(url);
  }
  postForm(url: string, form: Record<string, string>) {
    return this.jar(url).postForm(url, form);
  }
  /** Follows redirects until a page answers or the location starts with `until`. */
  async follow(response: Response, until: string): Promise<{ response: Response; url: string }> {
    let current = response;
    let url = current.url;
    for (let hops = 0; hops < 15; hops++) {
      const location = current.headers.get('location');
      if (!location || current.status < 300 || current.status >= 400) return { response: current, url };
      url = new URL(location, url).href;
      if (url.startsWith(until)) return { response: current, url };
      current = await this.get(url);
    }
    throw new Error('too many redirects');
  }
}

export interface FlowResult {
  /** The client's redirect URI with code (or error), when the flow got there. */
  callback?: URL;
  /** The last page shown otherwise. */
  html?: string;
  status: number;
  verifier: string;
  browsers: Browsers;
}

/**
 * A person at the downstream login page clicks "Continue with <provider>", signs in at our own
 * upstream AS as `upstreamUser` (consenting there), then consents at the downstream.
 */
export async function federatedFlow(
  down: { url: string },
  options: {
    clientId: string;
    redirectUri: string;
    scope: string;
    resource?: string;
    provider: string;
    upstreamUser?: string;
    /** The upstream user's password (default: the test users' one). */
    password?: string;
    browsers?: Browsers;
  },
): Promise<FlowResult> {
  const browsers = options.browsers ?? new Browsers();
  const { verifier, challenge } = pkcePair();
  const params = new URLSearchParams({
    client_id: options.clientId,
    redirect_uri: options.redirectUri,
    response_type: 'code',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: randomBytes(8).toString('hex'),
    scope: options.scope,
  });
  if (options.resource) params.set('resource', options.resource);
  let { response, url } = await browsers.follow(await browsers.get(`${down.url}/auth?${params}`), options.redirectUri);
  for (let step = 0; step < 8 && !url.startsWith(options.redirectUri); step++) {
    const html = await response.text();
    const here = new URL(url).origin;
    const continueLink = new RegExp(`href="([^"]*/upstream/${options.provider})"`).exec(html);
    if (continueLink && here === new URL(down.url).origin) {
      response = await browsers.get(new URL(continueLink[1]!.replaceAll('&amp;', '&'), down.url).href);
    } else if (html.includes('/login"')) {
      response = await browsers.postForm(new URL(formAction(html, '/login'), here).href, {
        csrf: hiddenField(html, 'csrf'),
        username: options.upstreamUser ?? 'carol',
        password: options.password ?? 'correct horse battery staple',
      });
    } else if (html.includes('/confirm"')) {
      response = await browsers.postForm(new URL(formAction(html, '/confirm'), here).href, { csrf: hiddenField(html, 'csrf') });
    } else {
      return { html, status: response.status, verifier, browsers };
    }
    ({ response, url } = await browsers.follow(response, options.redirectUri));
  }
  return { callback: new URL(url), status: response.status, verifier, browsers };
}

export async function redeem(down: { url: string }, result: FlowResult, clientId: string, redirectUri: string, resource?: string) {
  const code = result.callback?.searchParams.get('code');
  if (!code) throw new Error(`no code: ${result.callback?.href ?? result.html?.slice(0, 400)}`);
  const response = await postForm(`${down.url}/token`, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    client_id: clientId,
    code_verifier: result.verifier,
    ...(resource ? { resource } : {}),
  });
  const body = (await response.json()) as Record<string, string>;
  if (response.status !== 200) throw new Error(`token: ${response.status} ${JSON.stringify(body)}`);
  return body;
}
