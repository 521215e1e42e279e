/**
 * A bounded map whose entries expire at a given time. Eviction is least-recently-used: a Map
 * keeps insertion order, and a hit re-inserts the entry at the end.
 *
 * Bounded by count, and by bytes when given a `maxBytes` and a `sizeOf`: what a key points at
 * can come from a client (a token of up to the header limit), so a count alone would let large
 * entries take `maxEntries` × 16 KiB.
 *
 * Used for verified tokens (bounded memory, never past `exp`) and for DPoP proof `jti`s.
 *
 * ```ts source="./expiring-cache.examples.ts#ExpiringCache"
 * const cache = new ExpiringCache<string>(1000, { maxBytes: 1_000_000, sizeOf: (value) => value.length * 2 });
 * cache.set('k', 'v', Date.now() + 60_000);
 * cache.get('k'); // 'v' until it expires or is evicted
 * ```
 */
export class ExpiringCache<V> {
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #sizeOf: ((value: V, key: string) => number) | undefined;
  readonly #entries = new Map<string, Entry<V>>();
  #bytes = 0;
  /** The entry last inserted or used, i.e. the last in the map's order: a hit on it changes nothing. */
  #newest: Entry<V> | undefined;

  constructor(maxEntries: number, bytes?: { maxBytes: number; sizeOf: (value: V, key: string) => number }) {
    this.#maxEntries = maxEntries;
    this.#maxBytes = bytes?.maxBytes ?? Infinity;
    this.#sizeOf = bytes?.sizeOf;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entries' estimated size (0 without a `sizeOf`). */
  get bytes(): number {
    return this.#bytes;
  }

  get(key: string, now = Date.now()): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.#delete(key);
      return undefined;
    }
    // A client repeating its requests hits the newest entry each time: two map operations fewer.
    if (entry !== this.#newest) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      this.#newest = entry;
    }
    return entry.value;
  }

  has(key: string, now = Date.now()): boolean {
    return this.get(key, now) !== undefined;
  }

  /** Stores `value` until `expiresAt` (ms since epoch); evicts least recently used entries past either bound. */
  set(key: string, value: V, expiresAt: number): void {
    if (this.#maxEntries <= 0) return;
    this.#delete(key);
    const bytes = this.#sizeOf ? this.#sizeOf(value, key) : 0;
    if (bytes > this.#maxBytes) return;
    while (this.#entries.size > 0 && (this.#entries.size >= this.#maxEntries || this.#bytes + bytes > this.#maxBytes)) {
      this.#delete(this.#entries.keys().next().value!);
    }
    const entry = { value, expiresAt, bytes };
    this.#entries.set(key, entry);
    this.#newest = entry;
    this.#bytes += bytes;
  }

  #delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
    if (entry === this.#newest) this.#newest = undefined;
  }
}

interface Entry<V> {
  value: V;
  expiresAt: number;
  bytes: number;
}
