/** Type-checked examples for free-port.ts (its JSDoc shows these regions). */
import { freePort } from './free-port.ts';

export async function freePortExample() {
  //#region freePort
  const port = await freePort(); // then AUTH_PORT=port, AUTH_ISSUER=http://localhost:port
  //#endregion freePort
}
