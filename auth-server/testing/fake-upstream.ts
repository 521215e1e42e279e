import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';

export interface FakeUser {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  preferred_username?: string;
  [claim: string]: unknown;
}

/**
 * A small OIDC (and GitHub-shaped OAuth 2) upstream for negative tests: it signs ID tokens with
 * jose, and a test can bend what it signs (`idToken`) to play a wrong issuer, audience, nonce or
 * expiry. Its /authorize approves at once (no user step) and redirects with a code; /token checks
 * PKCE S256 like a real server, and refreshes with rotating refresh tokens (the token vault's
 * tests revoke them with `revokeRefreshTokens`).
 *
 * @example
 * const upstream = await startFakeUpstream({ clientId: 'down', user: { sub: 'u1', email: 'a@corp.example' } });
 * upstream.idToken = (claims) => ({ ...claims, aud: 'someone-else' });
 */
export async function startFakeUpstream(options: { clientId: string; user: FakeUser }) {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'fake-1', alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { nonce: string | undefined; challenge: string | undefined }>();
  const tokens = new Set<string>();
  const refreshTokens = new Set<string>();

  const state = {
    url: '',
    user: options.user,
    /** Rewrites the ID token's claims before signing (default: as a correct server would sign them). */
    idToken: (claims: JWTPayload): JWTPayload => claims,
    /** Extra query parameters /authorize adds to its redirect (e.g. `iss`, or `error`). */
    authorizeExtra: {} as Record<string, string>,
    /** How many token requests arrived. */
    tokenRequests: 0,
    /** How many of them were refreshes. */
    refreshes: 0,
    /** Seconds its access tokens live (expires_in). */
    accessTokenTtl: 300,
    /** Every bearer token presented at /userinfo and /user (to check what reached the upstream). */
    bearers: [] as string[],
    /** Forgets every refresh token, as a user revoking the app at the provider does. */
    revokeRefreshTokens: () => refreshTokens.clear(),
    close: () => new Promise<void>((done) => server.close(() => done())),
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url!, state.url);
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      if (url.pathname === '/.well-known/openid-configuration') {
        return json(200, {
          issuer: state.url,
          authorization_endpoint: `${state.url}/authorize`,
          token_endpoint: `${state.url}/token`,
          userinfo_endpoint: `${state.url}/userinfo`,
          jwks_uri: `${state.url}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
        });
      }
      if (url.pathname === '/jwks') return json(200, { keys: [jwk] });
      if (url.pathname === '/authorize') {
        const code = randomBytes(16).toString('hex');
        codes.set(code, {
          nonce: url.searchParams.get('nonce') ?? undefined,
          challenge: url.searchParams.get('code_challenge') ?? undefined,
        });
        const back = new URL(url.searchParams.get('redirect_uri')!);
        if (!state.authorizeExtra.error) back.searchParams.set('code', code);
        back.searchParams.set('state', url.searchParams.get('state') ?? '');
        for (const [k, v] of Object.entries(state.authorizeExtra)) back.searchParams.set(k, v);
        res.writeHead(302, { location: back.href }).end();
        return;
      }
      if (url.pathname === '/token' && req.method === 'POST') {
        state.tokenRequests++;
        let body = '';
        for await (const chunk of req) body += String(chunk);
        const form = new URLSearchParams(body);
        if (form.get('grant_type') === 'refresh_token') {
          // Rotating, like GitHub's expiring user tokens: the old refresh token is spent.
          state.refreshes++;
          if (!refreshTokens.delete(form.get('refresh_token') ?? '')) return json(400, { error: 'invalid_grant' });
          const accessToken = randomBytes(16).toString('hex');
          const refreshToken = randomBytes(16).toString('hex');
          tokens.add(accessToken);
          refreshTokens.add(refreshToken);
          return json(200, {
            access_token: accessToken,
            refresh_token: refreshToken,
            token_type: 'Bearer',
            expires_in: state.accessTokenTtl,
          });
        }
        const issued = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        if (!issued || createHash('sha256').update(verifier).digest('base64url') !== issued.challenge) {
          return json(400, { error: 'invalid_grant' });
        }
        const accessToken = randomBytes(16).toString('hex');
        const refreshToken = randomBytes(16).toString('hex');
        tokens.add(accessToken);
        refreshTokens.add(refreshToken);
        const now = Math.floor(Date.now() / 1000);
        const claims = state.idToken({
          iss: state.url,
          aud: options.clientId,
          sub: state.user.sub,
          nonce: issued.nonce,
          iat: now,
          exp: now + 300,
        });
        const response = { access_token: accessToken, refresh_token: refreshToken, token_type: 'Bearer', expires_in: state.accessTokenTtl };
        // An ID token only for an OpenID request (one with a nonce), as a plain OAuth 2 server has none.
        if (!issued.nonce) return json(200, response);
        const idToken = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: jwk.kid }).sign(privateKey);
        return json(200, { ...response, id_token: idToken });
      }
      const bearer = req.headers.authorization?.replace(/^Bearer /i, '') ?? '';
      if (bearer) state.bearers.push(bearer);
      if (url.pathname === '/userinfo') return tokens.has(bearer) ? json(200, state.user) : json(401, { error: 'invalid_token' });
      if (url.pathname === '/user') {
        // The GitHub shape: a numeric id, the login, no `sub`.
        const { sub, email, name, preferred_username } = state.user;
        return tokens.has(bearer) ? json(200, { id: Number(sub), login: preferred_username, name, email }) : json(401, {});
      }
      json(404, { error: 'not_found' });
    })().catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address() as { port: number };
  state.url = `http://127.0.0.1:${address.port}`;
  return state;
}

export type FakeUpstream = Awaited<ReturnType<typeof startFakeUpstream>>;
