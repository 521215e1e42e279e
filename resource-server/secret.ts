import { inspect } from 'node:util';

/**
 * A credential that must never reach a log line or an error message: JSON (pino, JSON.stringify),
 * string conversion and util.inspect (console.log) all show `[redacted]`; only `reveal()` gives
 * the value, at the one place that sends it.
 *
 * ```ts source="./secret.examples.ts#Secret"
 * const secret = new Secret(env.RS_CLIENT_SECRET);
 * log.info({ secret }); // {"secret":"[redacted]"}
 * basicAuth(clientId, secret.reveal());
 * ```
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}
