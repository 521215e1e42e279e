/** Type-checked examples for secret.ts (its JSDoc shows these regions). */
import type { Logger } from '../common/logger.ts';
import { Secret } from './secret.ts';

export function SecretExample(
  env: { RS_CLIENT_SECRET: string },
  log: Logger,
  clientId: string,
  basicAuth: (clientId: string, secret: string) => string,
) {
  //#region Secret
  const secret = new Secret(env.RS_CLIENT_SECRET);
  log.info({ secret }); // {"secret":"[redacted]"}
  basicAuth(clientId, secret.reveal());
  //#endregion Secret
}
