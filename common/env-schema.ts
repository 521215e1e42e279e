import { z } from 'zod';

/** Zod pieces that both servers' config.ts use to read the environment. */

export const port = (fallback: number) =>
  z.coerce
    .number({ message: 'must be a number' })
    .int('must be an integer')
    .min(0, 'must be between 0 and 65535')
    .max(65535, 'must be between 0 and 65535')
    .default(fallback);

/** An absolute http(s) URL without query or fragment. */
export const httpUrl = z
  .string()
  .trim()
  // abort: the refinements below parse the URL and would throw on one that cannot be parsed.
  .refine((value) => URL.canParse(value), { message: 'must be an absolute URL', abort: true })
  .refine((value) => /^https?:$/.test(new URL(value).protocol), 'must use http or https')
  .refine((value) => !new URL(value).search && !new URL(value).hash, 'must not have a query or fragment');

/**
 * An issuer URL, written the one way both servers compare it: without a trailing slash
 * (`http://localhost:3000/` and `http://localhost:3000` name the same issuer; `iss` must match exactly).
 */
export const issuerUrl = httpUrl.transform((value) => value.replace(/\/+$/, ''));

export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    message: 'must be one of fatal, error, warn, info, debug, trace, silent',
  })
  .default('info');

/** LOG_FORMAT: json or pretty; unset = decided at start ({@link prettyLogs} in logger.ts). */
export const logFormat = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['json', 'pretty'], { message: 'must be json or pretty' }))
  .optional();

export const nodeEnv = z.enum(['development', 'production', 'test']).default('development');

/** Accepts 1/0, true/false, yes/no, on/off (case-insensitive). */
export const flag = (fallback: boolean) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => ['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off', ''].includes(v), 'must be 1/0 or true/false')
    .transform((v) => (v === '' ? fallback : ['1', 'true', 'yes', 'on'].includes(v)))
    .optional()
    .transform((v) => v ?? fallback);

/** Comma separated list, blanks removed. */
export const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/** Empty strings in the environment mean "unset", as shells and compose files produce them. */
export function withoutEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
}
