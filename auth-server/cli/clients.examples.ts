/** Type-checked examples for clients.ts (its JSDoc shows these regions). */
import { runClientsCli } from './clients.ts';

export async function runClientsCliExample() {
  //#region runClientsCli
  process.exitCode = await runClientsCli(['list'], { stdout: process.stdout, stderr: process.stderr, env: process.env });
  //#endregion runClientsCli
}
