import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzz } from '../../common/testing/fuzz-requests.ts';
import { formAction, hiddenField, TestBrowser } from '../testing/browser.ts';
import { addUser, registerPublicClient, startAuthServer, type TestAuthServer } from '../testing/harness.ts';

const PASSWORD = 'a long admin passphrase here';
let server: TestAuthServer;

// Both stores: PostgreSQL refuses some text SQLite takes (a NUL), so each gets the fuzz.
describe.each(['sqlite', 'postgres'] as const)('fuzzing the admin console on %s', (store) => {
  beforeAll(async () => {
    server = await startAuthServer({ AUTH_RATE_LIMITS: 'off', LOG_LEVEL: 'warn' }, { store });
    await addUser(server, 'root', ['admin'], PASSWORD);
  });
  afterAll(() => server?.close());

  it(
    'answers 1,500 generated malformed requests to its pages and forms, a third signed in with a valid CSRF token, without a 5xx',
    { timeout: 60_000 },
    async () => {
      const alice = await addUser(server, 'alice');
      const client = await registerPublicClient(server);
      const browser = new TestBrowser();
      const { response } = await browser.follow(await browser.get(`${server.url}/admin/users`));
      const login = await response.text();
      await browser.follow(
        await browser.postForm(new URL(formAction(login, '/login'), server.url).href, {
          csrf: hiddenField(login, 'csrf'),
          username: 'root',
          password: PASSWORD,
        }),
      );
      const page = await (await browser.get(`${server.url}/admin/users`)).text();
      const csrf = hiddenField(page, 'csrf');

      const user = `/admin/users/${alice.id}`;
      const clientPath = `/admin/clients/${encodeURIComponent(client.client_id)}`;
      const paths = [
        '/admin',
        '/admin/login',
        '/admin/callback',
        '/admin/users',
        user,
        `${user}/profile`,
        `${user}/disable`,
        `${user}/enable`,
        `${user}/tokens`,
        `${user}/tokens/revoke`,
        '/admin/clients',
        clientPath,
        `${clientPath}/disable`,
        `${clientPath}/enable`,
        `${clientPath}/verify`,
        `${clientPath}/delete`,
        '/admin/grants/x/revoke',
        '/admin/sessions/x/revoke',
        '/admin/keys',
        '/admin/audit',
      ];
      const failures = await fuzz(server.url, paths, 1_500, 20261203, { signedIn: { cookie: browser.cookieHeader(), form: { csrf } } });
      const errors = server.logs.filter((line) => line.includes('"level":50'));
      expect(failures, `${JSON.stringify(failures.slice(0, 3), null, 2)}\n${errors.slice(0, 3).join('\n')}`).toEqual([]);
      // The signed-in third got past the door: some actions ran (an audit line names the admin).
      expect(server.logs.some((line) => /"event":"admin\.(user|client|keys)\./.test(line))).toBe(true);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect(server.logs.join('\n')).not.toContain('"unhandled error"');
    },
  );
});
