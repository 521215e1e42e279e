/** Type-checked examples for logger.ts (its JSDoc shows these regions). */
import { accessLog, createLogger, prettyLogs, type Logger } from './logger.ts';

export function createLoggerExample(client_id: string) {
  //#region createLogger
  const log = createLogger({ name: 'auth-server', level: 'info', pretty: process.stdout.isTTY });
  log.info({ client_id }, 'client registered');
  //#endregion createLogger
}

export function prettyLogsExample(config: { logLevel: string; logFormat: 'json' | 'pretty' | undefined; nodeEnv: string }) {
  //#region prettyLogs
  createLogger({ name: 'auth-server', level: config.logLevel, pretty: prettyLogs(config.logFormat, config.nodeEnv) });
  //#endregion prettyLogs
}

export function accessLogExample(log: Logger) {
  //#region accessLog
  const access = accessLog(log);
  access('info', { method: 'POST', path: '/token', status: 200, ms: 4.2 }, 'request');
  //#endregion accessLog
}
