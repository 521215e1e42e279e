/**
 * A bounded map whose entries expire at a given time. Eviction is least-recently-used: a Map
 * keeps insertion order, and a hit re-inserts the entry at the end.
 *
 * Used for verified tokens (bounded memory, never past `exp`) and for DPoP proof `jti`s.
 *
 * ```ts source="./expiring-cache.examples.ts#ExpiringCache"
 * const cache = new ExpiringCache<string>(1000);
 * cache.set('k', 'v', Date.now() + 60_000);
 * cache.get('k'); // 'v' until it expires or is evicted
 * ```
 */
export class ExpiringCache<V> {
  readonly #maxEntries: number;
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, now = Date.now()): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  has(key: string, now = Date.now()): boolean {
    return this.get(key, now) !== undefined;
  }

  /** Stores `value` until `expiresAt` (ms since epoch); evicts the least recently used entry when full. */
  set(key: string, value: V, expiresAt: number): void {
    if (this.#maxEntries <= 0) return;
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, expiresAt });
  }
}
