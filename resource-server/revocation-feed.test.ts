import { Writable } from 'node:stream';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../common/free-port.ts';
import { createLogger } from '../common/logger.ts';
import { startAuthServer, type TestAuthServer } from '../auth-server/testing/harness.ts';
import { createRevocationFeed } from './revocation-feed.ts';
import { Secret } from './secret.ts';

const RS_ID = 'feed-unit-rs';
const RS_SECRET = 'feed-unit-secret-0123456789abcdefghij';
let auth: TestAuthServer;

beforeAll(async () => {
  auth = await startAuthServer({ RS_CLIENT_ID: RS_ID, RS_CLIENT_SECRET: RS_SECRET });
});
afterAll(() => auth?.close());

const caller = (extra: Record<string, unknown>, clientId = 'some-client'): AuthInfo => ({ token: 't', clientId, scopes: [], extra });

/** A feed against the real auth server, on a clock the test moves. */
function feedWithClock(start: number, options: { maxStalenessMs?: number; secret?: string } = {}) {
  let clock = start;
  const feed = createRevocationFeed({
    url: `${auth.url}/revocations`,
    client: { id: RS_ID, secret: new Secret(options.secret ?? RS_SECRET) },
    pollMs: 60_000,
    timeoutMs: 2_000,
    maxStalenessMs: options.maxStalenessMs,
    log: createLogger({ name: 'test', level: 'silent', pretty: false }),
    now: () => clock,
  });
  return { feed, advance: (ms: number) => (clock += ms) };
}

describe('createRevocationFeed', () => {
  it('at start, an auth server not up yet is logged as info; once a poll interval has passed without an answer, as a warning', async () => {
    const lines: { level: number; msg: string }[] = [];
    let clock = 1_000_000;
    const feed = createRevocationFeed({
      url: `http://127.0.0.1:${await freePort()}/revocations`, // nothing listens there
      client: { id: RS_ID, secret: new Secret(RS_SECRET) },
      pollMs: 10_000,
      timeoutMs: 2_000,
      log: createLogger(
        { name: 'test', level: 'info', pretty: false },
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
            done();
          },
        }),
      ),
      now: () => clock,
    });
    expect(await feed.pull()).toBe(false);
    expect(lines.map((l) => [l.level, l.msg.split(':')[0]])).toEqual([
      [30, 'revocation feed not reachable yet (the auth server may still be starting)'],
    ]);
    clock += 10_000;
    expect(await feed.pull()).toBe(false);
    expect(lines.at(-1)).toMatchObject({ level: 40, msg: expect.stringMatching(/^revocation feed unreachable, keeping the last list/) });
  });

  it("refuses an account's and a client's tokens issued before the revocation, not those issued after (enabled again)", async () => {
    const at = Date.now();
    await auth.storage.revocations.add({ type: 'account', id: 'acct-1', at, until: at + 600_000 });
    await auth.storage.revocations.add({ type: 'client', id: 'client-1', at, until: at + 600_000 });
    await auth.storage.revocations.add({ type: 'grant', id: 'grant-1', at, until: at + 600_000 });
    const { feed } = feedWithClock(at);
    expect(await feed.pull()).toBe(true);
    const before = Math.floor(at / 1000) - 5;
    const after = Math.floor(at / 1000) + 5;
    expect(feed.check(caller({ sub: 'acct-1', iat: before }))).toBe('revoked');
    expect(feed.check(caller({ sub: 'acct-1', iat: after }))).toBeUndefined();
    expect(feed.check(caller({ sub: 'someone', iat: before }, 'client-1'))).toBe('revoked');
    expect(feed.check(caller({ sub: 'someone', iat: after }, 'client-1'))).toBeUndefined();
    expect(feed.check(caller({ sub: 'someone', iat: after, grant_id: 'grant-1' }))).toBe('revoked');
    expect(feed.check(caller({ sub: 'someone', iat: before, grant_id: 'grant-2' }))).toBeUndefined();
  });

  it('pulls incrementally and drops each entry once its until has passed', async () => {
    const at = Date.now();
    const { feed, advance } = feedWithClock(at);
    await feed.pull();
    const held = feed.size();
    await auth.storage.revocations.add({ type: 'pat', id: 'pat-short', at, until: at + 30_000 });
    await feed.pull();
    expect(feed.size()).toBe(held + 1);
    expect(feed.check(caller({ sub: 'x', pat_id: 'pat-short' }))).toBe('revoked');
    advance(30_001);
    await feed.pull();
    expect(feed.check(caller({ sub: 'x', pat_id: 'pat-short' }))).toBeUndefined();
  });

  it('with wrong credentials the pull fails, the list ages, and with a max staleness every token is refused once it is too old', async () => {
    const { feed, advance } = feedWithClock(Date.now(), { secret: 'not-the-secret-0123456789abcdefghijkl', maxStalenessMs: 20_000 });
    expect(await feed.pull()).toBe(false);
    expect(feed.check(caller({ sub: 'a' }))).toBeUndefined();
    advance(20_001);
    expect(feed.ageSeconds()).toBeGreaterThan(20);
    expect(feed.check(caller({ sub: 'a' }))).toBe('stale');
  });
});
