import { createRequire } from 'node:module';
import { pino, type Logger, type LoggerOptions } from 'pino';

/**
 * Paths that must never reach a log line. pino's redaction is path based, so list every
 * place a secret can appear in the objects we log (request headers, OAuth form fields, our
 * own audit fields).
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["dpop"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.client_secret',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.code',
  '*.code_verifier',
  '*.token',
  'password',
  'client_secret',
  'access_token',
  'refresh_token',
  'token',
  'cookie',
  'authorization',
];

export interface LoggerConfig {
  name: string;
  level: string;
  /** Pretty output for humans; JSON otherwise. */
  pretty: boolean;
}

/** Marks a logger (and its children, which pino derives by prototype) as writing for a person. */
const PRETTY = Symbol('pretty');

/**
 * pino-pretty for a person at a terminal: one line per record (only an error's stack takes more),
 * so a sign-in reads as a short list of lines rather than a hundred.
 */
const PRETTY_OPTIONS: { translateTime: string; ignore: string; singleLine: boolean; errorLikeObjectKeys: string[] } = {
  translateTime: 'HH:MM:ss.l',
  ignore: 'pid,hostname',
  singleLine: true,
  // Only real errors (`err`) get a multi-line stack; our `error` fields are OAuth error codes.
  errorLikeObjectKeys: ['err'],
};

/**
 * One logger per server process. With a `destination`, pretty output is written to it in
 * process (tests); without, through pino-pretty's worker to stdout.
 *
 * ```ts source="./logger.examples.ts#createLogger"
 * const log = createLogger({ name: 'auth-server', level: 'info', pretty: process.stdout.isTTY });
 * log.info({ client_id }, 'client registered');
 * ```
 */
export function createLogger(config: LoggerConfig, destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    name: config.name,
    level: config.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { name: config.name },
  };
  let logger: Logger;
  if (config.pretty && destination) {
    // Loaded only here (in process, tests): a JSON logger never needs pino-pretty, and the
    // terminal case loads it in pino's worker (bench/FINDINGS.md, idle memory).
    const pinoPretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    logger = pino(options, pinoPretty({ ...PRETTY_OPTIONS, colorize: false, destination, sync: true }));
  } else if (config.pretty) {
    logger = pino({ ...options, transport: { target: 'pino-pretty', options: { ...PRETTY_OPTIONS, colorize: true } } });
  } else {
    return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
  }
  Object.defineProperty(logger, PRETTY, { value: true });
  return logger;
}

/** Whether `log` writes for a person (pretty) rather than for a log pipeline (JSON). */
export function isPretty(log: Logger): boolean {
  return (log as Logger & { [PRETTY]?: boolean })[PRETTY] === true;
}

/**
 * Whether logs are pretty: LOG_FORMAT when set (read by each server's config), else pretty only
 * in a terminal outside production.
 *
 * ```ts source="./logger.examples.ts#prettyLogs"
 * createLogger({ name: 'auth-server', level: config.logLevel, pretty: prettyLogs(config.logFormat, config.nodeEnv) });
 * ```
 */
export function prettyLogs(format: 'json' | 'pretty' | undefined, nodeEnv: string, isTty = Boolean(process.stdout.isTTY)): boolean {
  if (format) return format === 'pretty';
  return nodeEnv !== 'production' && isTty;
}

/**
 * The fields of a per-request access line (and of the audit lines that hold only ids): a closed
 * set, none of them a secret.
 */
export interface AccessFields {
  method?: string;
  path?: string;
  status?: number;
  ms?: number;
  ip?: string | undefined;
  client_id?: string | undefined;
  sub?: string | undefined;
  username?: string | undefined;
  /** JSON-RPC methods of an MCP request. */
  methods?: string[];
  /** Mcp-Session-Id. */
  session?: string | undefined;
  /** Audit lines: the oidc-provider event, the grant type and grant id. */
  event?: string;
  grant_type?: string | undefined;
  grant_id?: string | undefined;
}

/** AccessFields' names, for lines built at run time (audit-events.ts): any other field means the redacting logger. */
export const ACCESS_FIELD_NAMES: ReadonlySet<string> = new Set<keyof AccessFields>([
  'method',
  'path',
  'status',
  'ms',
  'ip',
  'client_id',
  'sub',
  'username',
  'methods',
  'session',
  'event',
  'grant_type',
  'grant_id',
]);

export type AccessLog = (level: 'debug' | 'info' | 'warn' | 'error', fields: AccessFields, msg: string) => void;

/**
 * Writes the one line per request (requestLog's `request`, the resource server's `mcp request`)
 * through a child of `log` without redaction. pino 10's redaction (`@pinojs/redact` 0.4.0) parses
 * each of REDACT_PATHS again on every call, and a first-level wildcard path (`*.password`) makes
 * pino run it on every field of every line: 12–14 µs a line against 1.6 without, about 5 % of the
 * resource server's CPU and 16 KB of its ~83 KB of allocation per request (bench/FINDINGS.md).
 * What makes dropping it safe is the type: an access line can only carry AccessFields, which
 * names nothing REDACT_PATHS covers; every other line keeps the redaction.
 *
 * ```ts source="./logger.examples.ts#accessLog"
 * const access = accessLog(log);
 * access('info', { method: 'POST', path: '/token', status: 200, ms: 4.2 }, 'request');
 * ```
 */
export function accessLog(log: Logger): AccessLog {
  const plain = log.child({}, { redact: [] });
  return (level, fields, msg) => plain[level](fields, msg);
}

export type { Logger };
