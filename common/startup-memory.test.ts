import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { releaseStartupMemory } from './startup-memory.ts';

describe('releaseStartupMemory', () => {
  it('collects without leaving a gc global or --expose-gc behind', () => {
    expect(() => releaseStartupMemory()).not.toThrow();
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    // A context made afterwards has no gc either: the flag was unset again.
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});
