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

/**
 * One logger per server process.
 *
 * @example
 * const log = createLogger({ name: 'auth-server', level: 'info', pretty: process.stdout.isTTY });
 * log.info({ client_id }, 'client registered');
 */
export function createLogger(config: LoggerConfig, destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    name: config.name,
    level: config.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { name: config.name },
  };
  if (config.pretty && !destination) {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}

/**
 * Whether logs are pretty: LOG_FORMAT when set (read by each server's config), else pretty only
 * in a terminal outside production.
 *
 * @example
 * createLogger({ name: 'auth-server', level: config.logLevel, pretty: prettyLogs(config.logFormat, config.nodeEnv) });
 */
export function prettyLogs(format: 'json' | 'pretty' | undefined, nodeEnv: string, isTty = Boolean(process.stdout.isTTY)): boolean {
  if (format) return format === 'pretty';
  return nodeEnv !== 'production' && isTty;
}

export type { Logger };
