/** Type-checked examples for logger.ts (its JSDoc shows these regions). */
import { createLogger, prettyLogs } from './logger.ts';

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
