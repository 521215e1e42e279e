/** Type-checked examples for sector-identifier.ts (its JSDoc shows these regions). */
import type Koa from 'koa';
import type { AuthServerConfig } from '../config.ts';
import { refuseSectorIdentifier } from './sector-identifier.ts';

export function refuseSectorIdentifierExample(app: Koa, config: AuthServerConfig) {
  //#region refuseSectorIdentifier
  app.use(refuseSectorIdentifier('/reg', { open: !config.registration.initialAccessToken }));
  //#endregion refuseSectorIdentifier
}
