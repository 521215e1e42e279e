import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { idJagGrant, type GrantContext } from './grants.ts';

/**
 * What the client refuses in Enterprise-Managed Authorization, against a loopback IdP and AS
 * that answer each request with a canned response (the success path is the conformance scenario
 * auth/enterprise-managed-authorization in conformance.test.ts).
 */
interface Seen {
  path: string;
  body: URLSearchParams;
  authorization?: string;
}

let server: Server | undefined;
afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

async function start(answer: (seen: Seen) => { status: number; body: unknown }): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer(async (req: IncomingMessage, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const entry = { path: req.url ?? '', body: new URLSearchParams(raw), authorization: req.headers.authorization };
    seen.push(entry);
    const { status, body } = answer(entry);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
  return { base: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
}

function context(base: string): GrantContext {
  return {
    as: { issuer: `${base}/as`, token_endpoint: `${base}/as/token` },
    client: {
      issuer: `${base}/as`,
      client_id: 'mcp-client',
      client_secret: 's3cret',
      token_endpoint_auth_method: 'client_secret_basic',
      kind: 'pre-registered',
    },
    resource: 'http://127.0.0.1:1/mcp',
    scope: 'tools:read',
    fetch,
    say: () => undefined,
  };
}

const ID_JAG = 'urn:ietf:params:oauth:token-type:id-jag';

describe('Enterprise-Managed Authorization: the client side (ID-JAG)', () => {
  it('exchanges the ID token for an ID-JAG at the IdP, then presents it as a jwt-bearer assertion with its own credentials', async () => {
    const { base, seen } = await start(({ path }) =>
      path === '/idp/token'
        ? { status: 200, body: { access_token: 'the-id-jag', issued_token_type: ID_JAG, token_type: 'N_A' } }
        : { status: 200, body: { access_token: 'the-access-token', token_type: 'Bearer', expires_in: 60 } },
    );
    const response = await idJagGrant(context(base), {
      tokenEndpoint: `${base}/idp/token`,
      idToken: 'the-id-token',
      idpClientId: 'idp-client',
    });
    expect(response.access_token).toBe('the-access-token');
    const [exchange, bearer] = seen;
    expect(Object.fromEntries(exchange!.body)).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      requested_token_type: ID_JAG,
      subject_token: 'the-id-token',
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      audience: `${base}/as`,
      resource: 'http://127.0.0.1:1/mcp',
      scope: 'tools:read',
      client_id: 'idp-client',
    });
    expect(exchange!.authorization).toBeUndefined(); // the MCP client's secret never goes to the IdP
    expect(bearer!.path).toBe('/as/token');
    expect(bearer!.body.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    expect(bearer!.body.get('assertion')).toBe('the-id-jag');
    expect(bearer!.authorization).toBe(`Basic ${Buffer.from('mcp-client:s3cret').toString('base64')}`);
  });

  it('with --idp-client-secret, authenticates at the IdP with its own id and secret (Basic), never the MCP client secret', async () => {
    const { base, seen } = await start(({ path }) =>
      path === '/idp/token'
        ? { status: 200, body: { access_token: 'the-id-jag', issued_token_type: ID_JAG, token_type: 'N_A' } }
        : { status: 200, body: { access_token: 'the-access-token', token_type: 'Bearer', expires_in: 60 } },
    );
    await idJagGrant(context(base), {
      tokenEndpoint: `${base}/idp/token`,
      idToken: 'the-id-token',
      idpClientId: 'idpclient',
      idpClientSecret: 'idps3cret',
    });
    const [exchange, bearer] = seen;
    // (oauth4webapi form-encodes id and secret first, RFC 6749 §2.3.1: plain letters stay as they are.)
    expect(exchange!.authorization).toBe(`Basic ${Buffer.from('idpclient:idps3cret').toString('base64')}`);
    expect(exchange!.body.get('client_secret')).toBeNull();
    expect(bearer!.authorization).toBe(`Basic ${Buffer.from('mcp-client:s3cret').toString('base64')}`);
  });

  it('refuses a token of another type from the IdP, and never sends it to the AS', async () => {
    const { base, seen } = await start(() => ({
      status: 200,
      body: { access_token: 'an-access-token', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer' },
    }));
    await expect(idJagGrant(context(base), { tokenEndpoint: `${base}/idp/token`, idToken: 'the-id-token' })).rejects.toThrow(
      'the IdP issued a urn:ietf:params:oauth:token-type:access_token, not an ID-JAG',
    );
    expect(seen.map((s) => s.path)).toEqual(['/idp/token']);
  });

  it("reports the IdP's refusal (OAuth error) as a failed token exchange", async () => {
    const { base, seen } = await start(() => ({ status: 400, body: { error: 'invalid_grant', error_description: 'ID token expired' } }));
    await expect(idJagGrant(context(base), { tokenEndpoint: `${base}/idp/token`, idToken: 'the-id-token' })).rejects.toThrow(
      /the token exchange at the IdP failed: invalid_grant/,
    );
    expect(seen).toHaveLength(1);
  });

  it("reports the AS's refusal of the ID-JAG as a failed token request", async () => {
    const { base } = await start(({ path }) =>
      path === '/idp/token'
        ? { status: 200, body: { access_token: 'the-id-jag', issued_token_type: ID_JAG, token_type: 'N_A' } }
        : { status: 400, body: { error: 'invalid_grant', error_description: 'audience mismatch' } },
    );
    await expect(idJagGrant(context(base), { tokenEndpoint: `${base}/idp/token`, idToken: 'the-id-token' })).rejects.toThrow(
      /the token request failed: invalid_grant/,
    );
  });
});
