import fc from 'fast-check';

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'HEAD'];
const CONTENT_TYPES = [
  'application/json',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  '',
  'application/jwt',
];
const FIELDS = [
  'grant_type',
  'code',
  'refresh_token',
  'client_id',
  'client_secret',
  'redirect_uri',
  'resource',
  'scope',
  'code_verifier',
  'code_challenge',
  'code_challenge_method',
  'response_type',
  'state',
  'token',
  'token_type_hint',
  'device_code',
  'user_code',
  'username',
  'password',
  'csrf',
  'xsrf',
  'redirect_uris',
  'grant_types',
  'token_endpoint_auth_method',
  'jsonrpc',
  'method',
  'id',
  'params',
];
const VALUES = [
  '',
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
  'S256',
  'plain',
  'code',
  'none',
  'http://localhost:3001/mcp',
  'http://localhost:3001/mcp/',
  'javascript:alert(1)',
  'mcp:tools mcp:admin',
  '%00',
  '\u0000',
  '😀',
  'a'.repeat(3000),
  '../../etc/passwd',
  'tools/call',
  'initialize',
  '{"__proto__":{"x":1}}',
  'null',
  '[]',
  '-1',
  '1e309',
];

const printable = fc.string({
  minLength: 0,
  maxLength: 60,
  unit: fc.constantFrom(...'abcXYZ019-._~:/?#[]@!$&\'()*+,;=% "<>\\^`{|}'.split('')),
});
const jwtish = fc
  .tuple(fc.base64String({ maxLength: 60 }), fc.base64String({ maxLength: 200 }), fc.base64String({ maxLength: 90 }))
  .map((p) => p.join('.').replaceAll('=', ''));
const value = fc.oneof(fc.constantFrom(...VALUES), printable, jwtish);

const form = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...FIELDS), printable), value), { maxLength: 8 }).map((pairs) => {
  const params = new URLSearchParams();
  for (const [k, v] of pairs) params.append(k, v);
  return params.toString();
});
const json = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc
    .dictionary(
      fc.constantFrom(...FIELDS),
      fc.oneof(value, fc.array(value, { maxLength: 3 }), fc.integer(), fc.boolean(), fc.constant(null)),
    )
    .map((v) => JSON.stringify(v)),
  fc
    .record({
      jsonrpc: fc.constant('2.0'),
      id: fc.oneof(fc.integer(), printable),
      method: fc.constantFrom('initialize', 'tools/list', 'tools/call', 'ping', 'x'),
      params: fc.jsonValue({ maxDepth: 2 }),
    })
    .map((v) => JSON.stringify(v)),
  printable.map((s) => `{"${s}`),
);
const body = fc.oneof(fc.constant(undefined), form, json, printable, fc.constant('x'.repeat(70_000)));

const authorization = fc.oneof(
  fc.constant(undefined),
  jwtish.map((t) => `Bearer ${t}`),
  jwtish.map((t) => `DPoP ${t}`),
  printable.map((t) => `Basic ${Buffer.from(t).toString('base64')}`),
  printable.map((t) => `Bearer ${t}`),
  printable,
);

/**
 * A fast-check arbitrary of malformed HTTP requests aimed at `paths`: random methods, known and
 * mangled paths and query strings, headers (content types, credentials, cookies, origins, DPoP
 * proofs, session ids) and bodies (forms with OAuth field names, JSON-RPC, broken JSON, huge).
 *
 * @example
 * fc.sample(fuzzRequests(['/token', '/mcp']), 5000)
 */
export function fuzzRequests(paths: readonly string[]): fc.Arbitrary<FuzzRequest> {
  const path = fc.oneof(
    fc.constantFrom(...paths),
    fc.tuple(fc.constantFrom(...paths), printable).map(([p, s]) => `${p}/${encodeURIComponent(s)}`),
    fc.tuple(fc.constantFrom(...paths), form).map(([p, q]) => `${p}?${q}`),
    printable.map((s) => `/${encodeURIComponent(s)}`),
  );
  return fc
    .record({
      method: fc.constantFrom(...METHODS),
      path,
      contentType: fc.constantFrom(...CONTENT_TYPES),
      authorization,
      cookie: fc.option(
        printable.map((s) => `_session=${encodeURIComponent(s)}; _interaction=${encodeURIComponent(s)}; _session.sig=x`),
        { nil: undefined },
      ),
      origin: fc.option(fc.constantFrom('http://localhost:6274', 'https://evil.example', 'null', 'http://127.0.0.1:1'), { nil: undefined }),
      dpop: fc.option(jwtish, { nil: undefined }),
      session: fc.option(printable.map(encodeURIComponent), { nil: undefined }),
      accept: fc.constantFrom('application/json, text/event-stream', 'text/html', '*/*', 'application/json'),
      body,
    })
    .map((r) => {
      const headers: Record<string, string> = { accept: r.accept };
      if (r.contentType) headers['content-type'] = r.contentType;
      if (r.authorization) headers.authorization = r.authorization;
      if (r.cookie) headers.cookie = r.cookie;
      if (r.origin) headers.origin = r.origin;
      if (r.dpop) headers.dpop = r.dpop;
      if (r.session) headers['mcp-session-id'] = r.session;
      const hasBody = !['GET', 'HEAD'].includes(r.method) && r.body !== undefined;
      return { method: r.method, path: r.path, headers, body: hasBody ? r.body : undefined };
    });
}

/**
 * Sends `count` generated requests to `base` with bounded concurrency; returns every response that
 * was a 5xx or a transport failure (a crash or a reset).
 */
export async function fuzz(
  base: string,
  paths: readonly string[],
  count: number,
  seed: number,
  options: {
    concurrency?: number;
    validAuthorization?: string;
    /** A signed-in browser's cookies, and form fields its forms carry (a CSRF token): pages behind a sign-in. */
    signedIn?: { cookie: string; form?: Record<string, string> };
  } = {},
) {
  const concurrency = options.concurrency ?? 8;
  const requests = fc.sample(fuzzRequests(paths), { numRuns: count, seed });
  // A third of the requests carry a valid credential, so what lies behind the token check is fuzzed too.
  if (options.validAuthorization) {
    requests.forEach((request, i) => {
      if (i % 3 === 0) request.headers.authorization = options.validAuthorization!;
    });
  }
  // Likewise a third come from the signed-in browser, posting forms with its valid fields added.
  if (options.signedIn) {
    const { cookie, form = {} } = options.signedIn;
    requests.forEach((request, i) => {
      if (i % 3 !== 1) return;
      request.headers.cookie = cookie;
      if (request.method !== 'POST') return;
      request.headers['content-type'] = 'application/x-www-form-urlencoded';
      request.body = [request.body?.slice(0, 4096), new URLSearchParams(form).toString()].filter(Boolean).join('&');
    });
  }
  const failures: { request: FuzzRequest; status?: number; error?: string; body?: string }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++]!;
      try {
        const response = await fetch(`${base}${request.path}`, {
          method: request.method,
          headers: request.headers,
          body: request.body,
          redirect: 'manual',
          signal: AbortSignal.timeout(5_000),
        });
        // Streams (SSE) would stay open: read a little, then let go.
        const text = response.headers.get('content-type')?.includes('event-stream')
          ? (await response.body?.cancel(), '')
          : await response.text();
        if (response.status >= 500) failures.push({ request, status: response.status, body: text.slice(0, 300) });
      } catch (error) {
        failures.push({ request, error: String(error) });
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return failures;
}
