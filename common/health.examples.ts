/** Type-checked examples for health.ts (its JSDoc shows these regions). */
import { isHealthy } from './health.ts';

export async function isHealthyExample() {
  //#region isHealthy
  await isHealthy('http://127.0.0.1:3000/healthz'); // true once the auth server is up
  //#endregion isHealthy
}
