import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formAction, hiddenField, TestBrowser } from './testing/browser.ts';
import {
  addUser,
  authorize,
  pkcePair,
  postForm,
  postJson,
  RESOURCE,
  registerPublicClient,
  startAuthServer,
  type TestAuthServer,
} from './testing/harness.ts';
import { createRateLimiters, hit } from './security/rate-limits.ts';
import { loadStorageConfig } from './config.ts';
import { openStorage } from './storage/open-storage.ts';
import { createTestSchema } from './testing/postgres.ts';

let server: TestAuthServer;
let client: { client_id: string; redirect_uris: string[] };

beforeAll(async () => {
  server = await startAuthServer({
    AUTH_TRUST_PROXY: '1', // lets the test play several client ips with X-Forwarded-For
    AUTH_LOGIN_MAX_FAILURES: '3',
    AUTH_LOGIN_LOCK_SECONDS: '60',
    AUTH_REGISTRATIONS_PER_MINUTE: '30',
    AUTH_TOKEN_REQUESTS_PER_MINUTE: '3',
  });
  await addUser(server, 'alice');
  await addUser(server, 'bob');
  client = await registerPublicClient(server);
});
afterAll(() => server?.close());

const login = (ip: string, username: string, password: string, browser = new TestBrowser({ 'x-forwarded-for': ip })) =>
  authorize(server, { clientId: client.client_id, redirectUri: client.redirect_uris[0]!, username, password, browser });

describe('login rate limits', () => {
  it('locks an account for one ip after too many failures, with a friendly 429 page and Retry-After, even for the right password', async () => {
    for (let i = 0; i < 3; i++) expect((await login('198.51.100.1', 'alice', 'wrong')).status).toBe(401);
    const locked = await login('198.51.100.1', 'alice', 'correct horse battery staple');
    expect(locked.status).toBe(429);
    expect(locked.html).toContain('Too many failed attempts');
    // Another ip is not affected by this pair's lock.
    expect((await login('198.51.100.2', 'alice', 'correct horse battery staple')).callback?.searchParams.get('code')).toBeTypeOf('string');
  });

  it('counts parallel attempts too: a burst of guesses gets no more tries than the limit', async () => {
    await addUser(server, 'dave');
    const browser = new TestBrowser({ 'x-forwarded-for': '198.51.100.5' });
    const params = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0]!,
      response_type: 'code',
      scope: 'mcp:tools',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
      resource: RESOURCE,
    });
    const { response } = await browser.follow(await browser.get(`${server.url}/auth?${params}`));
    const html = await response.text();
    const action = new URL(formAction(html, '/login'), server.url).href;
    const guess = (password: string) => browser.postForm(action, { csrf: hiddenField(html, 'csrf'), username: 'dave', password });
    const statuses = (await Promise.all(Array.from({ length: 12 }, (_, i) => guess(`guess ${i}`)))).map((r) => r.status);
    // Three (AUTH_LOGIN_MAX_FAILURES) passwords were tried; every other attempt was refused unchecked.
    expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(9);
    expect((await guess('correct horse battery staple')).status).toBe(429);
  });

  it('ends every lock by itself', async () => {
    const short = await startAuthServer({ AUTH_LOGIN_MAX_FAILURES: '2', AUTH_LOGIN_LOCK_SECONDS: '3' });
    try {
      await addUser(short, 'bob');
      const own = await registerPublicClient(short);
      const attempt = (password: string) =>
        authorize(short, { clientId: own.client_id, redirectUri: own.redirect_uris[0]!, username: 'bob', password });
      for (let i = 0; i < 2; i++) await attempt('wrong');
      expect((await attempt('correct horse battery staple')).status).toBe(429);
      await new Promise((resolve) => setTimeout(resolve, 3_100));
      expect((await attempt('correct horse battery staple')).callback?.searchParams.get('code')).toBeTypeOf('string');
    } finally {
      await short.close();
    }
  });

  it('locks one ip guessing many accounts', async () => {
    for (let i = 0; i < 30; i++) await login('198.51.100.4', `nobody${i}`, 'wrong');
    const locked = await login('198.51.100.4', 'bob', 'correct horse battery staple');
    expect(locked.status).toBe(429);
  });

  it('distributed guessing locks the account for unknown browsers, but not for a browser the user already signed in with', async () => {
    await addUser(server, 'carol');
    const usual = new TestBrowser({ 'x-forwarded-for': '203.0.113.50' });
    expect((await login('203.0.113.50', 'carol', 'correct horse battery staple', usual)).callback).toBeDefined();
    // 12 failures from 12 ips: under the per-pair limit each, over the account-wide limit (4 × 3).
    for (let i = 0; i < 12; i++) await login(`192.0.2.${i + 1}`, 'carol', 'wrong');
    expect((await login('192.0.2.99', 'carol', 'correct horse battery staple')).status).toBe(429);
    // The user's own browser (known-account cookie) still gets in: the lock cannot keep her out.
    const result = await login('203.0.113.51', 'carol', 'correct horse battery staple', usual);
    expect(result.callback?.searchParams.get('code')).toBeTypeOf('string');
  });
});

describe('endpoint rate limits', () => {
  it('limits registrations per ip with 429 and Retry-After', async () => {
    const ip = { 'x-forwarded-for': '198.51.100.77' };
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++)
      statuses.push((await postJson(`${server.url}/reg`, { redirect_uris: ['http://127.0.0.1:1/cb'] }, ip)).status);
    expect(statuses.slice(0, 30).every((s) => s === 201)).toBe(true);
    const refused = await postJson(`${server.url}/reg`, { redirect_uris: ['http://127.0.0.1:1/cb'] }, ip);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: 'rate_limit_exceeded' });
    expect(
      (await postJson(`${server.url}/reg`, { redirect_uris: ['http://127.0.0.1:1/cb'] }, { 'x-forwarded-for': '198.51.100.78' })).status,
    ).toBe(201);
  });

  it('counts the address the trusted proxy appended, not one the client put in X-Forwarded-For', async () => {
    // A proxy that appends (nginx $proxy_add_x_forwarded_for, cloud load balancers) forwards the
    // client's own header first: "<whatever the client sent>, <the client's real address>".
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) {
      const spoofed = { 'x-forwarded-for': `203.0.113.${i + 1}, 198.51.100.79` };
      statuses.push((await postJson(`${server.url}/reg`, { redirect_uris: ['http://127.0.0.1:1/cb'] }, spoofed)).status);
    }
    expect(statuses.slice(0, 30).every((s) => s === 201)).toBe(true);
    expect(statuses[30]).toBe(429);
  });

  it('limits token requests per client and ip; a flood from one ip does not lock the client out elsewhere', async () => {
    const own = await registerPublicClient(server);
    const from = (ip: string) =>
      postForm(
        `${server.url}/token`,
        { grant_type: 'refresh_token', refresh_token: 'x', client_id: own.client_id },
        { 'x-forwarded-for': ip },
      );
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await from('198.51.100.90')).status);
    expect(statuses).toEqual([400, 400, 400, 429]);
    // The same (public) client id from the users' own address still reaches the token endpoint.
    expect((await from('198.51.100.91')).status).toBe(400);
    // Other clients are unaffected.
    const other = await registerPublicClient(server);
    expect(
      (
        await postForm(
          `${server.url}/token`,
          { grant_type: 'refresh_token', refresh_token: 'x', client_id: other.client_id },
          { 'x-forwarded-for': '198.51.100.90' },
        )
      ).status,
    ).toBe(400);
  });
});

describe('rate limits shared through PostgreSQL', () => {
  it('counts registrations from one ip across two auth-server instances on one database', async () => {
    const a = await startAuthServer({ AUTH_REGISTRATIONS_PER_MINUTE: '3' }, { store: 'postgres' });
    const b = await startAuthServer({ AUTH_REGISTRATIONS_PER_MINUTE: '3', DATABASE_URL: a.config.databaseUrl! });
    try {
      const register = (server: TestAuthServer) => postJson(`${server.url}/reg`, { redirect_uris: ['http://127.0.0.1:1/cb'] });
      expect([(await register(a)).status, (await register(b)).status, (await register(a)).status]).toEqual([201, 201, 201]);
      expect((await register(b)).status).toBe(429);
    } finally {
      await b.close();
      await a.close();
    }
  });
});

describe('rate-limit storage in PostgreSQL', () => {
  it('exists as soon as the store is migrated, so limiters work from the first request and never race to create it', async () => {
    const schema = await createTestSchema();
    const storage = await openStorage(loadStorageConfig({ DATABASE_URL: schema.url }));
    try {
      const limiters = createRateLimiters(
        {
          enabled: true,
          loginFailuresPerAccountIp: 5,
          loginFailuresPerIp: 50,
          loginFailuresPerAccount: 20,
          loginLockSeconds: 60,
          registrationsPerIpPerMinute: 60,
          tokenRequestsPerClientPerMinute: 600,
          deviceCodeFailures: 10,
          deviceCodeWindowSeconds: 300,
        },
        storage.postgres,
      );
      // All at once, on a database they have never seen.
      const waits = await Promise.all(Object.values(limiters).map((limiter) => hit(limiter, 'first')));
      expect(waits).toEqual([0, 0, 0, 0, 0, 0, 0]);
    } finally {
      await storage.close();
      await schema.drop();
    }
  });
});
