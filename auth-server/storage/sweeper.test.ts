import { DatabaseSync } from 'node:sqlite';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openSqliteStorage } from './sqlite-store.ts';
import type { Storage } from './store.ts';
import { startSweeper, type SweepLogger } from './sweeper.ts';

function recordingLogger() {
  const lines: { level: string; object: object; message: string }[] = [];
  const logger: SweepLogger = {
    debug: (object, message) => lines.push({ level: 'debug', object, message }),
    error: (object, message) => lines.push({ level: 'error', object, message }),
  };
  return { logger, lines };
}

describe('startSweeper', () => {
  let dir: string;
  let storage: Storage;
  let clock: number;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-sweeper-'));
    clock = Date.UTC(2030, 0, 1);
    // No busy wait: a locked database must make the sweep fail at once in the error test.
    storage = openSqliteStorage(dir, { now: () => clock, busyTimeoutMs: 0 });
  });
  afterEach(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('deletes expired rows periodically and stops when told', async () => {
    const { logger, lines } = recordingLogger();
    await storage.models.upsert('AccessToken', 'old', {}, 1);
    clock += 60_000;
    const stop = startSweeper(storage.models, 10, logger);
    await vi.waitFor(() => expect(lines).toContainEqual({ level: 'debug', object: { removed: 1 }, message: expect.any(String) }));
    await stop();

    await storage.models.upsert('AccessToken', 'later', {}, 1);
    clock += 60_000;
    await new Promise((resolve) => setTimeout(resolve, 50));
    // After stop() nothing sweeps: the newly expired row is still there for us to count.
    expect(await storage.models.sweepExpired()).toBe(1);
  });

  it('logs a failing sweep instead of throwing, and succeeds on a later run', async () => {
    const { logger, lines } = recordingLogger();
    await storage.models.upsert('AccessToken', 'old', {}, 1);
    clock += 60_000;
    // Another connection holds the write lock, as another process might.
    const blocker = new DatabaseSync(join(dir, 'auth.db'));
    blocker.exec('BEGIN IMMEDIATE');
    const stop = startSweeper(storage.models, 10, logger);
    try {
      await vi.waitFor(() => expect(lines.some((line) => line.level === 'error')).toBe(true));
    } finally {
      blocker.exec('ROLLBACK');
      blocker.close();
    }
    await vi.waitFor(() => expect(lines.some((line) => line.level === 'debug')).toBe(true));
    await stop();
  });
});
