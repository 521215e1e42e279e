import { afterEach, describe, expect, it } from 'vitest';
import { SessionStore, type SessionOwner } from './sessions.ts';

let clock = 0;
const stores: SessionStore<{ close(): Promise<void>; closed: boolean }>[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.closeAll()));
});

function store(caps: Partial<{ maxSessions: number; perUser: number; perClient: number; perIp: number }> = {}) {
  clock = 1_000_000;
  const sessions = new SessionStore<{ close(): Promise<void>; closed: boolean }>({
    idleTtlMs: 60_000,
    maxSessions: caps.maxSessions ?? 100,
    maxSessionsPerSubject: caps.perUser ?? 100,
    maxSessionsPerClient: caps.perClient ?? 100,
    maxSessionsPerIp: caps.perIp ?? 100,
    now: () => clock,
  });
  stores.push(sessions);
  return sessions;
}
const resources = () => {
  const r = { closed: false, close: async () => void (r.closed = true) };
  return r;
};
const owner = (subject: string, clientId = 'app', ip = '192.0.2.1'): SessionOwner => ({ subject, clientId, ip });

describe('SessionStore', () => {
  it('finds a session only for the same subject and client, whatever the address', () => {
    const sessions = store();
    sessions.add('s1', owner('alice', 'app-a', '192.0.2.1'), resources());
    expect(sessions.get('s1', owner('alice', 'app-a', '198.51.100.9'))).toBeDefined();
    expect(sessions.get('s1', owner('alice', 'app-b'))).toBeUndefined();
    expect(sessions.get('s1', owner('bob', 'app-a'))).toBeUndefined();
    expect(sessions.get('nope', owner('alice', 'app-a'))).toBeUndefined();
  });

  it("names the caller's own cap before the server's, in the order user, client, address", () => {
    const sessions = store({ maxSessions: 1, perUser: 1, perClient: 1, perIp: 1 });
    sessions.add('s1', owner('alice', 'app', '192.0.2.1'), resources());
    expect(sessions.refusal(owner('alice', 'other', '198.51.100.1'))?.cap).toBe('user');
    expect(sessions.refusal(owner('bob', 'app', '198.51.100.1'))?.cap).toBe('client');
    expect(sessions.refusal(owner('bob', 'other', '192.0.2.1'))?.cap).toBe('ip');
    expect(sessions.refusal(owner('bob', 'other', '198.51.100.1'))).toMatchObject({ cap: 'server', limit: 1 });
  });

  it('says when the earliest session counted against the reached cap would idle out (Retry-After)', () => {
    const sessions = store({ perIp: 2 });
    sessions.add('s1', owner('m1', 'm1'), resources());
    clock += 20_000;
    sessions.add('s2', owner('m2', 'm2'), resources());
    clock += 5_000;
    // s1 was last used 25 s ago and idles out after 60 s.
    expect(sessions.refusal(owner('m3', 'm3'))).toEqual({ cap: 'ip', limit: 2, retryAfterSec: 35 });
    // Using s1 moves its expiry: s2 is now the earliest.
    sessions.get('s1', owner('m1', 'm1'));
    expect(sessions.refusal(owner('m3', 'm3'))?.retryAfterSec).toBe(55);
  });

  it('frees a slot held by an idle-expired session at the next attempt, without waiting for the sweeper', () => {
    const sessions = store({ perUser: 1 });
    const held = resources();
    sessions.add('s1', owner('alice'), held);
    expect(sessions.refusal(owner('alice'))?.cap).toBe('user');
    clock += 60_001;
    expect(sessions.refusal(owner('alice'))).toBeUndefined();
    expect(held.closed).toBe(true);
    expect(sessions.size).toBe(0);
  });

  it('releases every count when a session ends', () => {
    const sessions = store({ perUser: 1, perClient: 1, perIp: 1 });
    sessions.add('s1', owner('alice', 'app', '192.0.2.1'), resources());
    sessions.delete('s1');
    expect(sessions.refusal(owner('alice', 'app', '192.0.2.1'))).toBeUndefined();
  });
});
