import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { listen } from '../../common/http-server.ts';
import { createLogger } from '../../common/logger.ts';
import { createAuthServer } from '../app.ts';
import { loadConfig, type AuthServerConfig } from '../config.ts';
import { loadSigningKeys, openSigningKeys, type SigningKeys } from '../keys/signing-keys.ts';
import type { LiveProvider } from '../provider/live-provider.ts';
import { loadVaultKeys } from '../upstream/token-vault.ts';
import { provisionResourceServerClient } from '../provider/resource-server-client.ts';
import { openStorage } from '../storage/open-storage.ts';
import { createTestSchema } from './postgres.ts';
import type { Storage } from '../storage/store.ts';
import { formAction, hiddenField, TestBrowser } from './browser.ts';
import { freePort } from '../../common/free-port.ts';

export const RESOURCE = 'http://localhost:3001/mcp';

export interface TestAuthServer {
  url: string;
  config: AuthServerConfig;
  storage: Storage;
  dir: string;
  /** Every log line written so far (JSON). */
  logs: string[];
  /** The signing-key store this server polls (rotate with keys/signing-keys.ts rotateSigningKeys). */
  signingKeys: SigningKeys;
  /** Its hot-swapping provider: `live.refresh()` picks up a rotation now instead of at the next poll. */
  live: LiveProvider;
  /** Stops the server and closes storage, keeping the directory (for restart tests). */
  stop(): Promise<void>;
  /** stop() and remove the directory. */
  close(): Promise<void>;
}

export type StoreKind = 'sqlite' | 'postgres';

export interface StartOptions {
  /** Reuse this directory (DATA_DIR/KEYS_DIR inside it): a restart on the same state. */
  dir?: string;
  /** 'postgres' runs on a fresh schema of the test database that close() drops. */
  store?: StoreKind;
  /** The clock of the admin console's 10-minute rule (epoch ms). */
  now?: () => number;
}

/**
 * Starts a real auth server on loopback with its own temp DATA_DIR/KEYS_DIR (and, for
 * PostgreSQL, its own schema). The issuer is the real URL, so tokens and metadata are what a
 * client on this machine would see.
 *
 * @example
 * const server = await startAuthServer({ AUTH_REFRESH_GRACE_SECONDS: '0' }, { store: 'postgres' });
 */
export async function startAuthServer(env: Record<string, string> = {}, options: StartOptions = {}): Promise<TestAuthServer> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'auth-test-')));
  const schema = options.store === 'postgres' ? await createTestSchema() : undefined;
  const logs: string[] = [];
  const logger = createLogger(
    { name: 'auth-server', level: 'debug', pretty: false },
    new Writable({
      write(chunk, _enc, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  );
  // Port first, so the issuer can name it.
  const port = env.AUTH_PORT ? Number(env.AUTH_PORT) : await freePort();
  const config = loadConfig({
    NODE_ENV: 'test',
    AUTH_PORT: String(port),
    AUTH_ISSUER: `http://localhost:${port}`,
    RS_RESOURCE_URL: RESOURCE,
    DATA_DIR: join(dir, 'data'),
    KEYS_DIR: join(dir, 'keys'),
    LOG_LEVEL: 'debug',
    ...(schema ? { DATABASE_URL: schema.url } : {}),
    ...env,
  });
  const storage = await openStorage(config);
  const signingKeys = await openSigningKeys(config, storage);
  const initial = await loadSigningKeys(signingKeys);
  const encryption = await loadVaultKeys(config);
  const { app, provider, live } = createAuthServer({
    config,
    storage,
    keys: { cookieKeys: await signingKeys.store.loadCookieKeys() },
    signingKeys: { keys: signingKeys, initial },
    logger,
    encryption,
    now: options.now,
  });
  await provisionResourceServerClient(provider(), storage.models, config, logger);
  const server = await listen(app, config.port, '127.0.0.1');
  const stop = async () => {
    live.stop();
    await server.close();
    await storage.close();
  };
  return {
    url: config.issuer,
    config,
    storage,
    dir,
    logs,
    signingKeys,
    live,
    stop,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
      await schema?.drop();
    },
  };
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

export async function postForm(
  url: string,
  form: Record<string, string | string[]>,
  headers: Record<string, string> = {},
): Promise<Response> {
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(form)) for (const v of [value].flat()) body.append(key, v);
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
}

/** RFC 7591 registration of a public loopback client, as MCP clients do it. */
export async function registerPublicClient(server: { url: string }, metadata: Record<string, unknown> = {}) {
  const response = await postJson(`${server.url}/reg`, {
    client_name: 'Test MCP Client',
    redirect_uris: ['http://127.0.0.1:8976/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    ...metadata,
  });
  const body = (await response.json()) as Record<string, any>;
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${JSON.stringify(body)}`);
  return body as {
    client_id: string;
    redirect_uris: string[];
    registration_access_token: string;
    registration_client_uri: string;
    [k: string]: unknown;
  };
}

export interface AuthorizeOptions {
  clientId: string;
  redirectUri: string;
  /** null: no `scope` parameter at all. */
  scope?: string | null;
  resource?: string | null;
  username?: string;
  password?: string;
  /** 'allow' (default) or 'deny' on the consent page. */
  decision?: 'allow' | 'deny';
  browser?: TestBrowser;
  extraParams?: Record<string, string>;
}

/**
 * Drives authorize → login POST → consent POST like a user would, and returns what arrived at the
 * client's redirect URI together with the PKCE verifier to redeem the code.
 */
export async function authorize(server: { url: string }, options: AuthorizeOptions) {
  const browser = options.browser ?? new TestBrowser();
  const { verifier, challenge } = pkcePair();
  const state = randomBytes(8).toString('hex');
  const params = new URLSearchParams({
    client_id: options.clientId,
    redirect_uri: options.redirectUri,
    response_type: 'code',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
  });
  if (options.scope !== null) params.set('scope', options.scope ?? 'mcp:tools');
  for (const [key, value] of Object.entries(options.extraParams ?? {})) params.set(key, value);
  if (options.resource !== null) params.set('resource', options.resource ?? RESOURCE);
  let { response, url } = await browser.follow(await browser.get(`${server.url}/auth?${params}`), options.redirectUri);

  for (let step = 0; step < 4 && !url.startsWith(options.redirectUri); step++) {
    const html = await response.text();
    if (html.includes('action="') && html.includes('/login"')) {
      response = await browser.postForm(new URL(formAction(html, '/login'), server.url).href, {
        csrf: hiddenField(html, 'csrf'),
        username: options.username ?? 'alice',
        password: options.password ?? 'correct horse battery staple',
      });
      // A login that does not redirect is the login page again (wrong password).
      if (response.status < 300 || response.status >= 400) {
        return { browser, verifier, state, html: await response.text(), status: response.status, callback: undefined };
      }
    } else if (html.includes('/confirm"')) {
      const target = options.decision === 'deny' ? '/abort' : '/confirm';
      response = await browser.postForm(new URL(formAction(html, target), server.url).href, { csrf: hiddenField(html, 'csrf') });
    } else {
      return { browser, verifier, state, html, status: response.status, callback: undefined };
    }
    ({ response, url } = await browser.follow(response, options.redirectUri));
  }
  const callback = new URL(url);
  return { browser, verifier, state, callback, html: undefined, status: response.status };
}

/** authorize() and then the token request, returning the token response body. */
export async function loginAndGetTokens(server: { url: string }, options: AuthorizeOptions) {
  const result = await authorize(server, options);
  if (!result.callback) throw new Error(`authorization did not reach the client: ${result.status} ${result.html?.slice(0, 500)}`);
  const code = result.callback.searchParams.get('code');
  if (!code) throw new Error(`no code: ${result.callback.href}`);
  const response = await postForm(`${server.url}/token`, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: options.redirectUri,
    client_id: options.clientId,
    code_verifier: result.verifier,
    ...(options.resource === null ? {} : { resource: options.resource ?? RESOURCE }),
  });
  const tokens = (await response.json()) as Record<string, any>;
  if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${JSON.stringify(tokens)}`);
  return {
    ...result,
    tokens: tokens as {
      access_token: string;
      refresh_token?: string;
      id_token?: string;
      scope: string;
      token_type: string;
      expires_in: number;
    },
  };
}

export async function addUser(server: TestAuthServer, username = 'alice', roles: string[] = [], password = 'correct horse battery staple') {
  return server.storage.accounts.add({
    username,
    password,
    name: username[0]!.toUpperCase() + username.slice(1),
    email: `${username}@example.com`,
    roles,
  });
}
export { freePort } from '../../common/free-port.ts';
