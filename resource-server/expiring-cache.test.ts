import { describe, expect, it } from 'vitest';
import { ExpiringCache } from './expiring-cache.ts';

describe('ExpiringCache bounds', () => {
  it('evicts the least recently used entry past the count bound', () => {
    const cache = new ExpiringCache<string>(2);
    cache.set('a', 'A', 1000);
    cache.set('b', 'B', 1000);
    cache.get('a', 0);
    cache.set('c', 'C', 1000);
    expect([cache.get('a', 0), cache.get('b', 0), cache.get('c', 0)]).toEqual(['A', undefined, 'C']);
  });

  it('keeps the order when the most recently used entry is hit again, and after it expires', () => {
    const cache = new ExpiringCache<string>(2);
    cache.set('a', 'A', 1000);
    cache.set('b', 'B', 1000);
    cache.get('a', 0);
    cache.get('a', 0);
    cache.set('c', 'C', 1000);
    expect([cache.get('b', 0), cache.get('a', 0), cache.get('c', 0)], 'b was the least recently used').toEqual([undefined, 'A', 'C']);
    cache.set('d', 'D', 10);
    expect(cache.get('d', 10), 'expired').toBeUndefined();
    cache.set('e', 'E', 1000);
    cache.get('c', 0);
    cache.set('f', 'F', 1000);
    expect([cache.get('e', 0), cache.get('c', 0), cache.get('f', 0)]).toEqual([undefined, 'C', 'F']);
  });

  it('evicts least recently used entries until the new one fits the byte bound', () => {
    const cache = new ExpiringCache<string>(100, { maxBytes: 10, sizeOf: (value) => value.length });
    cache.set('a', 'aaaa', 1000);
    cache.set('b', 'bbbb', 1000);
    cache.set('c', 'cccccc', 1000);
    expect(cache.get('a', 0), 'oldest evicted').toBeUndefined();
    expect(cache.get('b', 0)).toBe('bbbb');
    expect(cache.get('c', 0)).toBe('cccccc');
    expect(cache.bytes).toBe(10);
  });

  it('never stores an entry larger than the byte bound, and counts replaced and expired entries out', () => {
    const cache = new ExpiringCache<string>(100, { maxBytes: 10, sizeOf: (value) => value.length });
    cache.set('big', 'x'.repeat(11), 1000);
    expect(cache.size).toBe(0);
    cache.set('k', 'abc', 1000);
    cache.set('k', 'abcd', 1000);
    expect(cache.bytes).toBe(4);
    expect(cache.get('k', 1000), 'expired').toBeUndefined();
    expect(cache.bytes).toBe(0);
  });
});
