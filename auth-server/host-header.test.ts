import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formAction, hiddenField, TestBrowser } from './testing/browser.ts';
import { addUser, freePort, pkcePair, RESOURCE, registerPublicClient, startAuthServer, type TestAuthServer } from './testing/harness.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A request with whatever Host, X-Forwarded-* and request target a client cares to send (fetch
 * always sends the real Host). `target` may be absolute-form (`http://evil.example/x`).
 */
function raw(server: TestAuthServer, method: string, target: string, headers: Record<string, string>, body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const port = new URL(server.url).port;
    const req = request({ host: '127.0.0.1', port, method, path: target, headers, setHost: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const EVIL = 'evil.example';

/** Every string in a JSON document that is an absolute URL. */
function urlsIn(value: unknown): string[] {
  if (typeof value === 'string') return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? [value] : [];
  if (Array.isArray(value)) return value.flatMap(urlsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(urlsIn);
  return [];
}

/** The forged requests a client (or a misconfigured proxy) can send: Host, X-Forwarded-Host/Proto, an absolute-form target. */
function forgeries(server: TestAuthServer, path: string): { name: string; headers: Record<string, string>; target: string }[] {
  const host = new URL(server.url).host;
  return [
    { name: 'Host', headers: { host: EVIL }, target: path },
    { name: 'X-Forwarded-Host', headers: { host, 'x-forwarded-host': EVIL, 'x-forwarded-proto': 'https' }, target: path },
    { name: 'both', headers: { host: EVIL, 'x-forwarded-host': `${EVIL}:8443`, 'x-forwarded-proto': 'http' }, target: path },
    { name: 'absolute-form target', headers: { host: EVIL }, target: `http://${EVIL}${path}` },
  ];
}

function metadataPaths(server: TestAuthServer): string[] {
  const { pathname } = new URL(server.url);
  const prefix = pathname.replace(/\/$/, '');
  const paths = [`${prefix}/.well-known/oauth-authorization-server`, `${prefix}/.well-known/openid-configuration`];
  if (prefix) paths.push(`/.well-known/oauth-authorization-server${prefix}`);
  return paths;
}

for (const setup of [
  { name: 'an issuer at the root, no proxy trusted', env: {} as Record<string, string>, path: '' },
  { name: 'an issuer at the root behind a trusted proxy', env: { AUTH_TRUST_PROXY: '1' }, path: '' },
  { name: 'an issuer with a path behind a trusted proxy', env: { AUTH_TRUST_PROXY: '1' }, path: '/tenant-a' },
  { name: 'an issuer with a path, no proxy trusted', env: {}, path: '/tenant-a' },
]) {
  describe(`absolute URLs come from the issuer, whatever Host or X-Forwarded-Host say (${setup.name})`, () => {
    let server: TestAuthServer;
    beforeAll(async () => {
      const port = await freePort();
      server = await startAuthServer({ ...setup.env, AUTH_PORT: String(port), AUTH_ISSUER: `http://localhost:${port}${setup.path}` });
      await addUser(server);
    });
    afterAll(() => server?.close());

    it('metadata: every URL starts with the issuer', async () => {
      for (const path of metadataPaths(server)) {
        for (const forged of forgeries(server, path)) {
          const response = await raw(server, 'GET', forged.target, forged.headers);
          expect(response.status, `${path} ${forged.name}`).toBe(200);
          const metadata = JSON.parse(response.body) as Record<string, unknown>;
          expect(metadata.issuer).toBe(server.url);
          const urls = urlsIn(metadata);
          expect(urls.length).toBeGreaterThanOrEqual(10);
          for (const url of urls)
            expect(url.startsWith(`${server.url}/`) || url === server.url, `${path} ${forged.name}: ${url}`).toBe(true);
          expect(response.body).not.toContain(EVIL);
        }
      }
    });

    it('registration_client_uri in the /reg response starts with the issuer', async () => {
      for (const forged of forgeries(server, `${new URL(server.url).pathname.replace(/\/$/, '')}/reg`)) {
        const response = await raw(
          server,
          'POST',
          forged.target,
          { ...forged.headers, 'content-type': 'application/json' },
          JSON.stringify({ redirect_uris: ['http://127.0.0.1:1/cb'] }),
        );
        expect(response.status, forged.name).toBe(201);
        const { registration_client_uri: uri } = JSON.parse(response.body) as { registration_client_uri: string };
        expect(uri.startsWith(`${server.url}/reg/`), `${forged.name}: ${uri}`).toBe(true);
      }
    });

    it('the device flow verification_uri and verification_uri_complete start with the issuer', async () => {
      const client = await registerPublicClient(server, {
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
        response_types: [],
        redirect_uris: [],
      });
      for (const forged of forgeries(server, `${new URL(server.url).pathname.replace(/\/$/, '')}/device/auth`)) {
        const form = new URLSearchParams({ client_id: client.client_id, scope: 'mcp:tools' }).toString();
        const response = await raw(
          server,
          'POST',
          forged.target,
          { ...forged.headers, 'content-type': 'application/x-www-form-urlencoded' },
          form,
        );
        expect(response.status, forged.name).toBe(200);
        const body = JSON.parse(response.body) as { verification_uri: string; verification_uri_complete: string };
        expect(body.verification_uri).toBe(`${server.url}/device`);
        expect(body.verification_uri_complete.startsWith(`${server.url}/device?user_code=`)).toBe(true);
      }
    });

    it('the redirect after sign-in (the interaction resume URL) goes back to the issuer', async () => {
      const client = await registerPublicClient(server);
      // fetch cannot forge Host; X-Forwarded-Host is what a browser behind a careless proxy can inject.
      const browser = new TestBrowser({ 'x-forwarded-host': EVIL, 'x-forwarded-proto': 'https' });
      const params = new URLSearchParams({
        client_id: client.client_id,
        redirect_uri: client.redirect_uris[0]!,
        response_type: 'code',
        scope: 'mcp:tools',
        resource: RESOURCE,
        code_challenge: pkcePair().challenge,
        code_challenge_method: 'S256',
      });
      const start = await browser.get(`${server.url}/auth?${params}`);
      expect(start.headers.get('location')).not.toContain(EVIL);
      const { response } = await browser.follow(start);
      const html = await response.text();
      const login = await browser.postForm(new URL(formAction(html, '/login'), server.url).href, {
        csrf: hiddenField(html, 'csrf'),
        username: 'alice',
        password: 'correct horse battery staple',
      });
      expect(login.status).toBe(303);
      expect(login.headers.get('location')!.startsWith(`${server.url}/auth/`)).toBe(true);
    });

    it('metadata and /jwks say how long they may be cached', async () => {
      for (const path of metadataPaths(server)) {
        const response = await raw(server, 'GET', path, { host: EVIL });
        expect(response.headers['cache-control'], path).toBe('public, max-age=300');
      }
      const jwks = await raw(server, 'GET', `${new URL(server.url).pathname.replace(/\/$/, '')}/jwks`, { host: EVIL });
      expect(jwks.status).toBe(200);
      expect(jwks.headers['cache-control']).toBe('public, max-age=60');
    });
  });
}
