/** Type-checked examples for users.ts (its JSDoc shows these regions). */
import { runUsersCli } from './users.ts';

export async function runUsersCliExample() {
  //#region runUsersCli
  process.exitCode = await runUsersCli(['list'], {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
  //#endregion runUsersCli
}
