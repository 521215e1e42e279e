import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { openSqliteStorage } from '../storage/sqlite-store.ts';
import type { Storage } from '../storage/store.ts';
import { auditTrail } from './audit-trail.ts';

let dir: string;
let storage: Storage;
let lines: string[];
const logger = () =>
  createLogger(
    { name: 'auth-server', level: 'info', pretty: false },
    new Writable({ write: (chunk, _e, done) => void (lines.push(String(chunk)), done()) }),
  ).child({ audit: true });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'audit-trail-'));
  storage = openSqliteStorage(dir);
  lines = [];
});
afterEach(async () => {
  await storage.close();
  await rm(dir, { recursive: true, force: true });
});

describe('auditTrail', () => {
  it('logs every line and records the ones naming an event, with its columns', async () => {
    const trail = auditTrail(logger(), storage.audit, { now: () => 1_000 });
    trail.logger.info(
      { event: 'grant.success', sub: 'u1', username: 'alice', client_id: 'c1', grant_type: 'refresh_token', ip: '::1' },
      'token issued',
    );
    trail.logger.warn({ event: 'admin.user.disabled', admin: 'a1', sub: 'u2', revoked: 3 }, 'user disabled by an admin');
    trail.logger.info({ no: 'event' }, 'not an audit event');
    trail.logger.info('a message alone');
    await trail.flush();
    expect(lines).toHaveLength(4);
    const events = await storage.audit.recent({ limit: 10 });
    expect(events.map(({ id: _id, ...e }) => e)).toEqual([
      {
        at: 1_000,
        event: 'admin.user.disabled',
        level: 'warn',
        accountId: 'u2',
        username: null,
        clientId: null,
        adminId: 'a1',
        grantType: null,
        ip: null,
        message: 'user disabled by an admin',
        detail: '{"revoked":3}',
      },
      {
        at: 1_000,
        event: 'grant.success',
        level: 'info',
        accountId: 'u1',
        username: 'alice',
        clientId: 'c1',
        adminId: null,
        grantType: 'refresh_token',
        ip: '::1',
        message: 'token issued',
        detail: '{}',
      },
    ]);
  });

  it('keeps what the log redacts out of the table, at any depth', async () => {
    const trail = auditTrail(logger(), storage.audit);
    trail.logger.info({ event: 'x.y', password: 'hunter2', nested: { refresh_token: 'rt', code: 'c', fine: 1 }, token: 't' }, 'm');
    await trail.flush();
    const [event] = await storage.audit.recent({ limit: 1 });
    expect(JSON.parse(event!.detail)).toEqual({
      password: '[Redacted]',
      nested: { refresh_token: '[Redacted]', code: '[Redacted]', fine: 1 },
      token: '[Redacted]',
    });
    expect(lines.join('')).not.toMatch(/hunter2|"rt"/);
  });

  it('writes in batches without being asked, and a store that fails loses the batch, not the request', async () => {
    const trail = auditTrail(logger(), storage.audit, { flushMs: 10 });
    for (let i = 0; i < 450; i++) trail.logger.info({ event: 'login.failed', username: `u${i}` }, 'login failed');
    // Two full batches of 200 went at once; the rest within flushMs.
    await new Promise((done) => setTimeout(done, 50));
    expect((await storage.audit.recent({ limit: 1000 })).length).toBe(450);

    await storage.close();
    expect(() => trail.logger.info({ event: 'login.failed' }, 'login failed')).not.toThrow();
    await trail.flush();
    expect(lines.at(-1)).toContain('"event":"audit.store_failed"');
    expect(lines.at(-1)).toContain('"level":40');
  });
});
