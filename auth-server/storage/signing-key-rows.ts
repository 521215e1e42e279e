/**
 * Signing keys as the database keeps them (AUTH_KEY_STORE=database): one row per key, the
 * private JWK sealed with AUTH_ENCRYPTION_KEY (keys/signing-key-store.ts seals and opens; the
 * store never sees a private key in the clear), one generation counter for the whole set, and the
 * sealed cookie-signing secrets (instances on several machines must sign cookies alike).
 */
export interface SigningKeyRow {
  kid: string;
  alg: string;
  state: string;
  /** ISO timestamps. */
  createdAt: string;
  activatedAt: string | null;
  retiringSince: string | null;
  removeAfter: string | null;
  /** sealSecret(JSON of the private JWK, `signing-key:<kid>`). */
  sealedJwk: string;
}

export interface SigningKeyRowStore {
  /** The set's generation: 0 while no key was ever stored. One small read, polled by every instance. */
  generation(): Promise<number>;
  /** The generation and every row, from one snapshot. */
  read(): Promise<{ generation: number; rows: SigningKeyRow[] }>;
  /**
   * Replaces every row and sets the generation to `next`, only if it is still `expected`
   * (compare-and-set): false when another writer (an instance, the CLI, the console) came first.
   */
  replace(expected: number, next: number, rows: SigningKeyRow[]): Promise<boolean>;
  /** The sealed cookie-signing secrets, if stored. */
  cookieKeys(): Promise<string | undefined>;
  /** Stores them; `replace: false` only if none are stored yet (false when some were). */
  putCookieKeys(sealed: string, options: { replace: boolean }): Promise<boolean>;
}
