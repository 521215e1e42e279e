/** Type-checked examples for demo-user.ts (its JSDoc shows these regions). */
import type { Storage } from './storage/store.ts';
import { demoAccountLines, ensureDemoUser, parseDemoAccount } from './demo-user.ts';

export async function ensureDemoUserExample(storage: Storage) {
  //#region ensureDemoUser
  const created = await ensureDemoUser(storage.accounts); // → { username: 'demo', password } | undefined
  //#endregion ensureDemoUser
}

export function demoAccountLinesExample() {
  //#region demoAccountLines
  demoAccountLines({ username: 'demo', password: 'x' });
  // → ['  Demo account created — username: demo  password: x', '  (shown only now; …)']
  //#endregion demoAccountLines
}

export function parseDemoAccountExample(stdout: string) {
  //#region parseDemoAccount
  parseDemoAccount(stdout); // → { username: 'demo', password: '…' } | undefined
  //#endregion parseDemoAccount
}
