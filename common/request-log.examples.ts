/** Type-checked examples for request-log.ts (its JSDoc shows these regions). */
import Koa from 'koa';
import { createLogger } from './logger.ts';
import { errorBoundary, logAppErrors, requestLog } from './request-log.ts';

const log = createLogger({ name: 'example', level: 'info', pretty: false });

export function requestLogExample(app: Koa) {
  //#region requestLog
  app.use(requestLog(log));
  //#endregion requestLog
}

export function errorBoundaryExample(app: Koa) {
  //#region errorBoundary
  app.use(errorBoundary(log));
  //#endregion errorBoundary
}

export function logAppErrorsExample() {
  //#region logAppErrors
  const app = new Koa();
  logAppErrors(app, log); // before listen(): Koa installs its own handler when none is there
  //#endregion logAppErrors
  return app;
}
