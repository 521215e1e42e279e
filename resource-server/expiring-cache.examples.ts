/** Type-checked examples for expiring-cache.ts (its JSDoc shows these regions). */
import { ExpiringCache } from './expiring-cache.ts';

export function ExpiringCacheExample() {
  //#region ExpiringCache
  const cache = new ExpiringCache<string>(1000, { maxBytes: 1_000_000, sizeOf: (value) => value.length * 2 });
  cache.set('k', 'v', Date.now() + 60_000);
  cache.get('k'); // 'v' until it expires or is evicted
  //#endregion ExpiringCache
}
