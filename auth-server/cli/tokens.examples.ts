/** Type-checked examples for tokens.ts (its JSDoc shows these regions). */
import { runTokensCli } from './tokens.ts';

export async function runTokensCliExample() {
  //#region runTokensCli
  process.exitCode = await runTokensCli(['list', '--user', 'alice'], { stdout: process.stdout, stderr: process.stderr, env: process.env });
  //#endregion runTokensCli
}
